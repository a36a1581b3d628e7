"""Surveys that ship ready to open. The first is the digital-maturity audit's resident survey
(Методические рекомендации по цифровизации муниципалитета, mapping stage 5, "Опрос жителей",
online, from 14 days): in-demand occupations in the town, expectations of its development,
and residents' positive stories about life in it, read through the three factors of
happiness (employment, quality of leisure, positive expectations). Texts are in Russian,
the language the towns run their surveys in."""

from __future__ import annotations

from typing import Any

from backend.errors import NotFound
from backend.i18n import N_
from backend.services.surveys.rules import Question
from backend.services.surveys.schemas import SurveyIn


def _choice(key: str, text: str, options: list[tuple[str, str]], *, kind: str = "single", required: bool = True, **kw: Any) -> dict[str, Any]:
    return {"key": key, "kind": kind, "text": text, "required": required, "options": [{"key": k, "label": v} for k, v in options], **kw}


MATURITY_AUDIT: dict[str, Any] = {
    "title": "Опрос жителей: занятость, досуг и ожидания от развития города",
    "description": (
        "Опрос проводится в рамках картирования (аудита цифровой зрелости) города. Мы хотим понять, какие виды "
        "занятости востребованы, чего жители ждут от развития города и какими историями о жизни в нём гордятся. "
        "Итоги войдут в Атлас Счастья города. Опрос займёт 5–7 минут."
    ),
    "anonymous": True,
    "questions": [
        _choice("occupation", "Чем вы сейчас занимаетесь?", [
            ("employee", "Работаю по найму"), ("own", "Своё дело, самозанятость"), ("study", "Учусь"),
            ("retired", "На пенсии"), ("seeking", "Ищу работу"), ("home", "Веду домашнее хозяйство"),
        ]),
        _choice("works_in", "Где вы работаете или учитесь?", [
            ("town", "В нашем городе"), ("near", "В соседнем населённом пункте"), ("center", "В областном центре"),
            ("remote", "Удалённо, через интернет"),
        ], show_if={"question": "occupation", "any_of": ["employee", "own", "study"]}),
        _choice("in_demand", "Какие виды занятости, по-вашему, востребованы в нашем городе? (можно выбрать несколько)", [
            ("trade", "Торговля и бытовые услуги"), ("tourism", "Туризм и гостеприимство"), ("industry", "Производство"),
            ("it", "IT и цифровые сервисы"), ("agro", "Сельское хозяйство и переработка"), ("education", "Образование"),
            ("health", "Здравоохранение и уход"), ("building", "Строительство и ЖКХ"), ("creative", "Творческие индустрии"),
            ("logistics", "Транспорт и логистика"),
        ], kind="multiple"),
        {"key": "skill", "kind": "text", "required": False, "text": "Какой профессии или навыку вы хотели бы научиться, чтобы работать в городе?"},
        {"key": "leisure", "kind": "scale", "scale_min": 1, "scale_max": 5, "required": True,
         "text": "Насколько вас устраивает досуг в городе? (1 — совсем не устраивает, 5 — полностью)"},
        _choice("leisure_where", "Где вы чаще всего проводите свободное время и тратите деньги на досуг?", [
            ("town", "В нашем городе"), ("near", "В соседних городах"), ("center", "В областном центре или столице"),
            ("online", "В основном онлайн"),
        ]),
        {"key": "outlook", "kind": "scale", "scale_min": 1, "scale_max": 5, "required": True,
         "text": "Как вы оцениваете перспективы города в ближайшие 5 лет? (1 — всё будет хуже, 5 — намного лучше)"},
        {"key": "expectations", "kind": "text", "required": True, "text": "Чего вы ждёте от развития города? Что должно измениться в первую очередь?"},
        _choice("stay", "Планируете ли вы жить в городе через 5 лет?", [
            ("yes", "Да"), ("rather_yes", "Скорее да"), ("rather_no", "Скорее нет"), ("no", "Нет"),
        ]),
        {"key": "keep", "kind": "text", "required": False, "text": "Что могло бы удержать вас в городе?",
         "show_if": {"question": "stay", "any_of": ["rather_no", "no"]}},
        _choice("business", "Хотели бы вы открыть своё дело в городе?", [
            ("have", "У меня уже есть своё дело"), ("plan", "Да, планирую"), ("maybe", "Возможно, при поддержке"),
            ("no", "Нет"),
        ], required=False),
        {"key": "story", "kind": "text", "required": False,
         "text": "Расскажите историю о жизни в городе, которой вы гордитесь или которая вас порадовала."},
        {"key": "story_photo", "kind": "photo", "required": False, "text": "Если хотите, пришлите фото к вашей истории."},
    ],
}

TEMPLATES: dict[str, dict[str, Any]] = {"maturity_audit": MATURITY_AUDIT}
TEMPLATE_TITLES = {"maturity_audit": N_("The maturity audit's resident survey")}


def build(code: str) -> SurveyIn:
    """The template as a new survey's input."""
    raw = TEMPLATES.get(code)
    if raw is None:
        raise NotFound(N_("There is no such template."))
    return SurveyIn(
        title=raw["title"], description=raw["description"], anonymous=raw["anonymous"],
        questions=[Question.model_validate(q) for q in raw["questions"]],
    )
