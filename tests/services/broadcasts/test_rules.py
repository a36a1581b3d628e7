"""Telegram's HTML as the composer checks it, and the pace per kind of chat."""

from __future__ import annotations

import pytest

from backend.services.broadcasts.rules import GROUP_CHAT_RATE, HtmlError, chat_rate, check_html


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("<b>Субботник</b> &amp; <i>чай</i>", 15),
        ("a &lt; b &#1041; &quot;", 9),
        ('<a href="https://example.ru/a?b=1&amp;c=2">ссылка</a>', 6),
        ('<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>', 2),
        ('<pre><code class="language-python">print(1)</code></pre>', 8),
        ('<blockquote expandable>цитата</blockquote>', 6),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', 1),
        ("a > b", 5),
    ],
)
def test_telegram_html_accepted_with_its_visible_length(text: str, length: int) -> None:
    assert check_html(text, limit=4096) == length


@pytest.mark.parametrize(
    ("text", "msgid"),
    [
        ("<b", "Write a < that is not a tag as &lt;."),
        ("a < b", "Write a < that is not a tag as &lt;."),
        ("AT&T", "Write a bare & as &amp; (Telegram knows only the entities &lt; &gt; &amp; &quot; and numeric ones)."),
        ("&nbsp;", "Write a bare & as &amp; (Telegram knows only the entities &lt; &gt; &amp; &quot; and numeric ones)."),
        ("<div>x</div>", "Telegram does not support the <{tag}> tag."),
        ("<br/>", "Telegram does not support the <{tag}> tag."),
        ("<b>x</i>", "The tag </{tag}> closes a tag that is not open."),
        ("<b><i>x</b></i>", "The tag </{tag}> closes a tag that is not open."),
        ("<b>x", "The tag <{tag}> is not closed."),
        ('<b class="x">x</b>', "The <{tag}> tag cannot have the attribute {attr}."),
        ('<a href="javascript:alert(1)">x</a>', "A link must start with https://, http://, tg:// or mailto:."),
        ("<a>x</a>", "A link needs an address (href)."),
        ("<!-- x -->y", "Comments are not allowed in a message."),
        ("<b> </b>", "The message has no text."),
        ("x" * 11, "The text is {length} characters long; Telegram allows {limit}."),
    ],
)
def test_what_telegram_would_refuse_is_refused_with_a_reason(text: str, msgid: str) -> None:
    with pytest.raises(HtmlError) as caught:
        check_html(text, limit=10)
    assert caught.value.msgid == msgid


def test_groups_are_paced_at_20_a_minute() -> None:
    assert chat_rate(12345) == 1.0
    assert chat_rate(-100123) == GROUP_CHAT_RATE == 20 / 60
