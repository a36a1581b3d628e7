"""Answer templates are bounded in time, memory and size: rendered in worker processes with a
deadline, in a sandbox that refuses huge powers, repetitions and ranges, and tried with a
sample context when saved. Against the real worker processes."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from backend.core.documents import service as documents
from backend.core.documents.renderer import Renderer
from backend.errors import Invalid

CTX = dict(documents.SAMPLE_CONTEXT)
NESTED_LOOPS = "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}"


def _refusal(source: str) -> str:
    with pytest.raises(Invalid) as refused:
        documents.check_template(source)
    return refused.value.render("en")


def test_a_good_template_renders():
    source = "Уважаемый(ая) {{ resident_name }}! По обращению {{ reg_number }}: {{ answer_text | default('') }}"
    documents.check_template(source)
    assert documents.render_template(source, {**CTX, "answer_text": "сделано"}) == (
        "Уважаемый(ая) Иванова Анна Сергеевна! По обращению GLZ-2026-000123: сделано"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("{{ 7**6000000 }}", "The template has an error: a power with more than 4096 bits", id="power"),
        pytest.param("{{ 10**1000 * 10**1000 }}", "The template has an error: a product with more than 4096 bits", id="product"),
        pytest.param("{{ 'ha' * 10**9 }}", "The template has an error: a repetition longer than 50000", id="repetition"),
        pytest.param("{% for i in range(10**6) %}{% endfor %}", "The template has an error: range() longer than 10000", id="range"),
        pytest.param("{% for i in range(9000) %}0123456789{% endfor %}",
                     "The template produces a text longer than 50000 characters.", id="output"),
        pytest.param(NESTED_LOOPS, "The template takes too long to render.", id="nested loops"),
        pytest.param("{{ 'x'|center(10**9) }}", "The template needs too much memory to render.", id="huge filter argument"),
        pytest.param("{{ " + "(" * 30000 + "1" + ")" * 30000 + " }}", "The template has an error: nested too deeply", id="nesting"),
        pytest.param("{{ ''.__class__.__mro__ }}", "The template has an error: access to attribute '__class__' of 'str' object is unsafe.", id="internals"),
        pytest.param("{{ 1 / 0 }}", "The template has an error: ZeroDivisionError: division by zero", id="fails at render"),
        pytest.param("{{ secret_key }}", "The template uses an unknown field: secret_key", id="unknown field"),
        pytest.param("{{ town.mayor }}", "The template uses an unknown field: 'str object' has no attribute 'mayor'", id="unknown attribute"),
        pytest.param("{% for %}", "The template has an error: Expected an expression, got 'end of statement block'", id="syntax"),
        pytest.param("x" * 100_001, "The template is longer than 100000 characters.", id="source too long"),
    ],
)
def test_refused_at_save_with_a_clear_message(source: str, message: str):
    assert _refusal(source) == message


def test_a_text_that_doubles_runs_out_of_memory_or_time():
    """Which limit strikes first depends on the machine's speed; either is a clear refusal."""
    doubling = "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
    assert _refusal(doubling) in {"The template needs too much memory to render.", "The template takes too long to render."}


def test_rendering_refuses_what_checking_refuses():
    """Templates stored before trial renders existed are refused when used, never a 500."""
    with pytest.raises(Invalid) as refused:
        documents.render_template(NESTED_LOOPS, CTX)
    assert refused.value.render("en") == "The template takes too long to render."
    with pytest.raises(Invalid):
        documents.render_template("{{ resident }}", CTX)
    assert documents.render_template("{{ town }}", CTX) == "Город"  # the worker recovered


async def test_a_slow_template_does_not_block_the_event_loop():
    """While a template runs into its deadline, other coroutines (every other town's requests)
    keep running: they finish first, though they start after it."""
    order: list[str] = []

    async def slow() -> None:
        with pytest.raises(Invalid):
            await documents.check_template_async(NESTED_LOOPS)
        order.append("template")

    async def others() -> None:
        for _ in range(3):
            await asyncio.sleep(0)
            assert await documents.render_template_async("{{ town }}", CTX) == "Город"
        order.append("others")

    await asyncio.gather(slow(), others())
    assert order == ["others", "template"]


async def test_a_worker_that_stops_answering_is_killed_and_replaced():
    """The hard deadline, for what the worker's own alarm cannot interrupt (a long C call)."""
    pool = Renderer(workers=1, timeout=0.2)
    try:
        assert (await pool.ask_async({"op": "render", "source": "{{ 1 + 1 }}", "context": {}}))["text"] == "2"
        (worker,) = pool._workers
        os.kill(worker.proc.pid, signal.SIGSTOP)  # frozen: not even its alarm runs
        answer = await pool.ask_async({"op": "render", "source": "{{ 2 + 2 }}", "context": {}})
        assert answer == {"ok": False, "kind": "timeout", "detail": ""}
        assert worker.proc.poll() is not None and worker not in pool._workers
        assert (await pool.ask_async({"op": "render", "source": "{{ 3 + 3 }}", "context": {}}))["text"] == "6"
    finally:
        pool.close()
    assert not pool._workers


async def test_a_worker_that_died_is_replaced_before_the_next_request():
    pool = Renderer(workers=1)
    try:
        assert (await pool.ask_async({"op": "render", "source": "a", "context": {}}))["text"] == "a"
        (worker,) = pool._workers
        worker.proc.kill()  # e.g. the kernel's OOM killer
        worker.proc.wait()
        assert (await pool.ask_async({"op": "render", "source": "b", "context": {}}))["text"] == "b"
        assert worker not in pool._workers and len(pool._workers) == 1
    finally:
        pool.close()
