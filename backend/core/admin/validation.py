"""Localized messages for settings that fail their pydantic model: each field by its title
(the model's `Field(title=N_(...))`, else its name) and what is wrong with it, in the
person's language; pydantic's own messages are English only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from backend.errors import InvalidFields
from backend.i18n import N_, gettext

CHECK_FIELDS = N_("Check the fields: {problems}.")
FIELD_PROBLEM = N_("{field}: {problem}")
INVALID_VALUE = N_("has an invalid value")
PROBLEMS: Mapping[str, str] = {
    "greater_than_equal": N_("must be at least {ge}"),
    "greater_than": N_("must be more than {gt}"),
    "less_than_equal": N_("must be at most {le}"),
    "less_than": N_("must be less than {lt}"),
    "string_pattern_mismatch": N_("has the wrong format"),
    "string_too_long": N_("must be at most {max_length} characters long"),
    "string_too_short": N_("must be at least {min_length} characters long"),
    "too_long": N_("may hold at most {max_length} entries"),
    "too_short": N_("must hold at least {min_length} entries"),
    "literal_error": N_("must be one of: {expected}"),
    "enum": N_("must be one of: {expected}"),
    "int_parsing": N_("must be a whole number"),
    "int_type": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "float_type": N_("must be a number"),
    "bool_parsing": N_("must be yes or no"),
    "bool_type": N_("must be yes or no"),
    "string_type": N_("must be text"),
    "list_type": N_("must be a list"),
    "dict_type": N_("must be a set of values"),
    "date_parsing": N_("must be a date (YYYY-MM-DD)"),
    "date_type": N_("must be a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": N_("must be a date (YYYY-MM-DD)"),
    "date_from_datetime_inexact": N_("must be a date (YYYY-MM-DD)"),
    "extra_forbidden": N_("is not a setting here"),
    "missing": N_("is required"),
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "…"


def title_of(model: type[BaseModel] | None, name: str) -> str:
    """A field's title in the current language, else its name."""
    field = model.model_fields.get(name) if model is not None else None
    return gettext(field.title) if field is not None and field.title else name


def problem(error: Mapping[str, Any]) -> str:
    """What is wrong with one field, in the current language. A model's own check says what is
    wrong with a msgid: `PydanticCustomError("glocal_message", N_("..."))`."""
    if error["type"] == "glocal_message":
        return gettext(error["msg"])
    return gettext(PROBLEMS.get(error["type"], INVALID_VALUE)).format_map(_Blank(error.get("ctx") or {}))


def invalid_fields(exc: ValidationError, *, model: type[BaseModel] | None, prefix: str) -> InvalidFields:
    """The 422 for settings that failed `model`: fields as `<prefix>.<name>`, each explained."""
    fields: list[str] = []
    problems: list[str] = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"]]
        name = ".".join([prefix, *loc]) if prefix else ".".join(loc)
        if name in fields:
            continue
        fields.append(name[:100])
        if loc:
            problems.append(gettext(FIELD_PROBLEM).format(field=title_of(model, loc[0]), problem=problem(error)))
        else:  # the model's own check across fields says it all
            problems.append(problem(error))
    return InvalidFields(CHECK_FIELDS, fields=fields, problems="; ".join(problems))
