"""The extra questions of a category (``CategoryAttribute``) and the rules for their answers.

One set of rules for every channel: the public form and the agent intake check the shape
here before filing, ``submit_report`` checks again against the category the report is
filed in, and Open311 names a problem ``attribute[code]``, the parameter an app sent.

Answers are stored on the report by code (``Report.attributes``): a string for string,
text, datetime (ISO 8601 with the offset) and singlevaluelist (the key), a number, or a
list of keys for multivaluelist. They are shown to staff only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from regiohub.meldpunt.models import AttributeType, Category, CategoryAttribute
from regiohub.meldpunt.models.category import LIST_TYPES, Option

#: The longest answers: a question asks for a detail, the description tells the story.
MAX_LENGTHS = {AttributeType.STRING.value: 200, AttributeType.TEXT.value: 2000}
_NUMBER = re.compile(r"^[+-]?\d{1,12}(\.\d{1,6})?$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$"
)
#: The moments a datetime answer may name (as Open311's date parameters).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
#: Control characters other than tab and line breaks: pasted text holds some (Word's line
#: break is a vertical tab); they become spaces. NUL is refused (PostgreSQL's JSON cannot
#: hold it).
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parameter(code: str) -> str:
    """The name a problem with an answer is reported under: Open311's parameter."""
    return f"attribute[{code}]"


def _empty(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, list | tuple):
        return all(_empty(item) for item in raw)
    return False


def _text(raw: Any) -> str:
    value = str(raw)
    if "\x00" in value:
        raise ValidationError(_("Contains a NUL character, which is not allowed."))
    return _CONTROL.sub(" ", value).strip()


def clean_value(datatype: str, raw: Any, keys: Sequence[str] = ()) -> Any:
    """The stored form of one answer ``raw`` (a string, or a list of strings for a
    multivaluelist) for a question of ``datatype`` with list ``keys``; None when empty.
    Raises a ValidationError with one translated message."""
    if _empty(raw):
        return None
    if datatype == AttributeType.MULTI:
        items = raw if isinstance(raw, list | tuple) else [raw]
        chosen = {_text(item) for item in items if not _empty(item)}
        unknown = sorted(chosen - set(keys))
        if unknown:
            raise ValidationError(_not_an_answer(unknown[0][:50], keys))
        return [key for key in keys if key in chosen]  # in the list's order, once each
    if isinstance(raw, list | tuple):
        filled = [item for item in raw if not _empty(item)]
        if len(filled) != 1:
            raise ValidationError(_("Give one answer."))
        raw = filled[0]
    value = _text(raw)
    if datatype == AttributeType.SINGLE:
        if value not in keys:
            raise ValidationError(_not_an_answer(value[:50], keys))
        return value
    if datatype == AttributeType.NUMBER:
        if not _NUMBER.match(value):
            raise ValidationError(_("Give a number, such as 12 or 3.5."))
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)
    if datatype == AttributeType.DATETIME:
        return _moment(value)
    if datatype == AttributeType.STRING:
        value = " ".join(value.split())
    limit = MAX_LENGTHS.get(str(datatype), MAX_LENGTHS[AttributeType.TEXT.value])
    if len(value) > limit:
        raise ValidationError(_("At most %(limit)d characters.") % {"limit": limit})
    return value


def _not_an_answer(value: str, keys: Sequence[str]) -> str:
    return _("%(value)s is not one of the answers (%(keys)s).") % {
        "value": value,
        "keys": ", ".join(keys),
    }


def _moment(value: str) -> str:
    """A date and time: with an offset, or else Belgian local time. Stored with its offset."""
    moment = None
    if _DATETIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
    if moment is None:
        raise ValidationError(
            _(
                "Give a date and time such as 2026-01-31T14:30, or with a time zone: "
                "2026-01-31T14:30:00+01:00."
            )
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    try:
        in_utc: datetime | None = moment.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not EARLIEST <= in_utc <= LATEST:
        raise ValidationError(_("Give a date between 1970 and 9000."))
    return timezone.localtime(in_utc).isoformat(timespec="seconds")


def keys_of(attribute: CategoryAttribute) -> list[str]:
    return [option.key for option in attribute.options()]


def clean_answers(category: Category, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to ``category``'s questions, ready to store, or a ValidationError with
    one message per question (under ``attribute[code]``), required ones included.

    Answers to questions this category does not ask are left out: the public form asks a
    subject's questions before the place decides the municipality, and municipalities may
    ask different ones. Open311 refuses them before (an app knows its jurisdiction).
    """
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for attribute in category.attributes.all():
        try:
            value = clean_value(attribute.datatype, answers.get(attribute.code), keys_of(attribute))
        except ValidationError as error:
            errors[parameter(attribute.code)] = list(error.messages)
            continue
        if value is None or value == []:
            if attribute.required:
                errors[parameter(attribute.code)] = [_("Answer this question.")]
            continue
        cleaned[attribute.code] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


# --- The questions of a subject, for the forms ------------------------------------------


@dataclass(frozen=True)
class Question:
    """A question as the forms ask it for a subject, across municipalities."""

    code: str
    label: str
    help: str
    datatype: str
    required: bool
    options: tuple[Option, ...]

    @property
    def keys(self) -> list[str]:
        return [option.key for option in self.options]


def subject_questions() -> dict[str, list[Question]]:
    """The questions per subject (category code) of the active categories, in the current
    language. Municipalities usually ask the same; where they differ, the first wording
    wins and a question any of them requires is required (one query)."""
    rows = (
        CategoryAttribute.objects.filter(category__is_active=True)
        .select_related("category")
        .order_by("category__code", "order", "category__organisation_id", "pk")
    )
    found: dict[str, dict[str, Question]] = {}
    for attribute in rows:
        questions = found.setdefault(attribute.category.code, {})
        known = questions.get(attribute.code)
        if known is None:
            questions[attribute.code] = Question(
                code=attribute.code,
                label=attribute.display_label,
                help=attribute.display_help,
                datatype=attribute.datatype,
                required=attribute.required,
                options=tuple(attribute.options()),
            )
        elif attribute.required and not known.required:
            questions[attribute.code] = replace(known, required=True)
    return {subject: list(questions.values()) for subject, questions in found.items()}


# --- Answers as staff see them ----------------------------------------------------------


def describe(
    answers: Mapping[str, Any], definitions: Iterable[CategoryAttribute]
) -> list[tuple[str, str]]:
    """``answers`` as (question, answer) in the current language, in the questions' order;
    answers to a question removed since are shown under their code."""
    if not answers:
        return []
    shown: list[tuple[str, str]] = []
    known: set[str] = set()
    for attribute in definitions:
        known.add(attribute.code)
        if attribute.code in answers:
            shown.append((attribute.display_label, _answer(attribute, answers[attribute.code])))
    shown += [(code, _answer(None, value)) for code, value in answers.items() if code not in known]
    return shown


def _answer(attribute: CategoryAttribute | None, value: Any) -> str:
    if attribute is not None and attribute.datatype in LIST_TYPES:
        names = {option.key: option.name for option in attribute.options()}
        items = value if isinstance(value, list) else [value]
        return ", ".join(names.get(str(item), str(item)) for item in items)
    if attribute is not None and attribute.datatype == AttributeType.DATETIME:
        moment = parse_datetime(str(value))
        if moment is not None:
            return date_format(timezone.localtime(moment), "j F Y H:i")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def answers_of(report: Any) -> list[tuple[str, str]]:
    """The answers of ``report`` for its staff page."""
    if not report.attributes:
        return []
    return describe(report.attributes, report.category.attributes.all())
