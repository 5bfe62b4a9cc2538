"""Forms of the contact point. They check the shape of the input; the rules (routing,
anonymity, consent, photo limits) live in the services, which report errors per field."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from regiohub.core.models import Organisation
from regiohub.meldpunt import attributes as attribute_rules
from regiohub.meldpunt.models import AttributeType, Category, Channel
from regiohub.meldpunt.photos import ProcessedPhoto, process_photo


@dataclass(frozen=True)
class Subject:
    """A subject as the citizen sees it: one per category code, across municipalities."""

    code: str
    name: str
    help: str
    allow_anonymous: bool


def subjects() -> list[Subject]:
    """The subjects offered on the public form, in the current language.

    Municipalities may word a category differently; the wording most of them use wins.
    """
    language = (get_language() or "nl")[:2]
    name_field = {"fr": "name_fr", "en": "name_en"}.get(language, "name")
    help_field = {"fr": "help_text_fr", "en": "help_text_en"}.get(language, "help_text")
    rows = (
        Category.objects.filter(is_active=True)
        .values("code", "name", name_field, "help_text", help_field, "allow_anonymous")
        .annotate(n=Count("pk"))
        .order_by("code", "-n")
    )
    chosen: dict[str, Subject] = {}
    for row in rows:
        if row["code"] in chosen:
            continue
        chosen[row["code"]] = Subject(
            code=row["code"],
            name=row[name_field] or row["name"],
            help=row[help_field] or row["help_text"],
            allow_anonymous=row["allow_anonymous"],
        )
    # "Other question" last, the rest alphabetically.
    return sorted(chosen.values(), key=lambda s: (s.code == "question", s.name.lower()))


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to MELDPUNT_MAX_PHOTOS images; each is checked by content and re-encoded."""

    widget = MultiplePhotoInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)
        self.widget.attrs.update({"accept": "image/jpeg,image/png,image/webp,image/gif"})

    def clean(self, data: Any, initial: Any = None) -> list[ProcessedPhoto]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            return []
        if len(files) > settings.MELDPUNT_MAX_PHOTOS:
            raise ValidationError(
                _("Choose at most %(count)d photos.") % {"count": settings.MELDPUNT_MAX_PHOTOS}
            )
        errors: list[ValidationError] = []
        processed: list[ProcessedPhoto] = []
        for upload in files:
            try:
                processed.append(process_photo(upload, name=getattr(upload, "name", "")))
            except ValidationError as error:
                errors.append(error)
        if errors:
            raise ValidationError(errors)
        return processed


def _municipality_choices() -> list[tuple[str, str]]:
    municipalities = Organisation.objects.filter(kind="municipality").order_by("name")
    return [("", _("Choose the municipality"))] + [(m.code, m.display_name) for m in municipalities]


class LocationMixin(forms.Form):
    latitude = forms.FloatField(
        label=_("Latitude"), required=False, min_value=-90, max_value=90,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )  # fmt: skip
    longitude = forms.FloatField(
        label=_("Longitude"), required=False, min_value=-180, max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )  # fmt: skip
    address = forms.CharField(
        label=_("Address or description of the place"),
        max_length=300,
        required=False,
        help_text=_("For example: Grote Markt 1, or: in front of the school on Kerkstraat."),
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    municipality = forms.ChoiceField(
        label=_("Municipality"),
        required=False,
        help_text=_("Only needed when you do not mark the place on the map."),
    )

    # How the point was found, written by the form's script: "map" (tapped), "address" (a
    # match from the address register was chosen, with its register id) or "photo" (the
    # photo's position was accepted). The service trusts only "map" without a register id.
    location_source = forms.ChoiceField(
        choices=[("", ""), ("map", "map"), ("address", "address"), ("photo", "photo")],
        required=False,
        widget=forms.HiddenInput,
    )
    address_register_id = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)
    # The second step without JavaScript: the place the citizen chose among the offered
    # ones (a signed value, see meldpunt.views.place_step) or "typed" (keep the address as
    # typed), and the address those places were offered for.
    place_choice = forms.CharField(max_length=1000, required=False)
    place_checked = forms.CharField(max_length=300, required=False, widget=forms.HiddenInput)
    # The question before sending (see meldpunt.views.routing_step): is the report about the
    # asset found nearby, and which municipality near a border; signed answers, and the
    # point and subject they were asked for.
    routing_choice = forms.CharField(max_length=1000, required=False)
    border_choice = forms.CharField(max_length=1000, required=False)
    routing_asked = forms.CharField(max_length=1000, required=False, widget=forms.HiddenInput)
    # Cleaned photos kept while the form asks its second step (see meldpunt.pending).
    photo_stash = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["municipality"].choices = _municipality_choices()

    def place_offered(self, data: dict[str, Any]) -> bool:
        """Whether the form can offer a place although none was given (a photo's
        position): then the missing place is asked in the second step, not refused."""
        return False

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        lat, lon = data.get("latitude"), data.get("longitude")
        if (lat is None) != (lon is None):
            raise ValidationError(
                _("Give both the latitude and the longitude, or mark the place on the map.")
            )
        if (
            lat is None
            and not (data.get("address") and data.get("municipality"))
            and not data.get("place_choice")
            and not self.place_offered(data)
        ):
            self.add_error(
                "address",
                _("Mark the place on the map, or type the address and choose the municipality."),
            )
        return data


class ContactMixin(forms.Form):
    reporter_name = forms.CharField(
        label=_("Your name"), max_length=200, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )  # fmt: skip
    reporter_email = forms.EmailField(
        label=_("Your e-mail address"),
        required=False,
        help_text=_("We send you the number of your report and news about it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    reporter_phone = forms.RegexField(
        label=_("Your phone number"),
        regex=r"^\+?[0-9 ./()-]{6,25}$",
        max_length=40,
        required=False,
        error_messages={"invalid": _("Use digits only, for example 056 27 00 00.")},
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )


def question_field_name(subject: str, code: str) -> str:
    """The form field of a subject's question: subject codes hold no underscores."""
    return f"attribute__{subject}__{code}"


class NumberAnswerField(forms.CharField):
    """A number as people type it: with a decimal comma too."""

    def to_python(self, value: Any) -> str:
        return super().to_python(value).replace(",", ".").replace(" ", "")


class AnswerRadios(forms.RadioSelect):
    """Answers of a list: the form's error summary links to the first one (Django gives a
    group no id to link to; its question is the fieldset's legend)."""

    def id_for_label(self, id_: str, index: str | None = "0") -> str:
        return super().id_for_label(id_, "0" if index is None else index)


class AnswerCheckboxes(forms.CheckboxSelectMultiple):
    """Answers of a list with several answers: as ``AnswerRadios``."""

    def id_for_label(self, id_: str, index: str | None = "0") -> str:
        return super().id_for_label(id_, "0" if index is None else index)


def question_field(question: attribute_rules.Question) -> forms.Field:
    """A form field for ``question``. Never required by itself: only when its subject is
    chosen (checked in ``ReportForm.clean``); the rules are in ``meldpunt.attributes``."""
    common: dict[str, Any] = {"label": question.label, "help_text": question.help,
                              "required": False}  # fmt: skip
    datatype = question.datatype
    choices = [(option.key, option.name) for option in question.options]
    if datatype == AttributeType.SINGLE:
        return forms.ChoiceField(choices=choices, widget=AnswerRadios, **common)
    if datatype == AttributeType.MULTI:
        return forms.MultipleChoiceField(choices=choices, widget=AnswerCheckboxes, **common)
    if datatype == AttributeType.NUMBER:
        return NumberAnswerField(
            max_length=30, widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common
        )
    if datatype == AttributeType.DATETIME:
        widget = forms.DateTimeInput(attrs={"type": "datetime-local"})
        return forms.CharField(max_length=40, widget=widget, **common)
    if datatype == AttributeType.TEXT:
        limit = attribute_rules.MAX_LENGTHS[AttributeType.TEXT.value]
        return forms.CharField(max_length=limit, widget=forms.Textarea(attrs={"rows": 3}), **common)
    limit = attribute_rules.MAX_LENGTHS[AttributeType.STRING.value]
    return forms.CharField(max_length=limit, **common)


class ReportForm(LocationMixin, ContactMixin):
    """The citizen's report form: works without JavaScript, the map enhances it."""

    field_order = [
        "category", "description", "address", "municipality", "latitude", "longitude",
        "photos", "reporter_name", "reporter_email", "reporter_phone", "consent",
    ]  # fmt: skip
    # Not required by the form, yet needed in some cases: never labelled "(optional)" (see
    # core_tags.is_optional). The address and municipality without a point on the map; an
    # e-mail address or a phone number for subjects that cannot be anonymous.
    conditionally_required = ("address", "municipality", "reporter_email", "reporter_phone")

    category = forms.ChoiceField(label=_("What is it about?"), widget=forms.RadioSelect)
    description = forms.CharField(
        label=_("Describe the problem or your question"),
        max_length=5000,
        help_text=_(
            "What is wrong, since when, and anything that helps us find it. Your description "
            "and the place may be shown publicly (without your name or contact details): "
            "leave personal details out of it."
        ),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    photos = PhotosField(
        label=_("Photos"),
        help_text=_("Up to 3 photos (JPEG, PNG or WebP). We remove the location data from them."),
    )
    consent = forms.BooleanField(
        label=_("I have read the privacy notice and agree that my details are used to handle "
                "this report."),
        required=False,
    )  # fmt: skip
    client_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    # "Me too": the reference of an open report nearby that the citizen says is theirs.
    same_as = forms.RegexField(
        regex=r"^[A-Z]{3}-[0-9]{4}-[0-9]{6}$", required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subjects = subjects()
        self.fields["category"].choices = [(s.code, s.name) for s in self.subjects]
        if not self.is_bound:
            self.initial.setdefault("client_key", secrets.token_urlsafe(24))
        self._add_questions()

    def subject_help(self) -> dict[str, Subject]:
        return {s.code: s for s in self.subjects}

    # --- The subjects' extra questions (ADR 0040) ---------------------------------------
    # Every subject's questions are fields of the form, in a fieldset per subject: without
    # JavaScript all are shown under "Only for <subject>", with it only the chosen
    # subject's. Only the chosen subject's answers are checked and filed.

    def _add_questions(self) -> None:
        offered = {s.code for s in self.subjects}
        self.questions = {
            subject: questions
            for subject, questions in attribute_rules.subject_questions().items()
            if subject in offered
        }
        required = []
        for subject, questions in self.questions.items():
            for question in questions:
                name = question_field_name(subject, question.code)
                self.fields[name] = question_field(question)
                if question.required:
                    required.append(name)
        # Required once their subject is chosen: never labelled "(optional)".
        self.conditionally_required = (*self.conditionally_required, *required)

    def question_groups(self) -> list[tuple[Subject, list[forms.BoundField]]]:
        """Per subject with questions, in the subjects' order: the subject and its fields."""
        return [
            (subject, [self[question_field_name(subject.code, q.code)] for q in questions])
            for subject in self.subjects
            if (questions := self.questions.get(subject.code))
        ]

    def field_for_error(self, key: str) -> str | None:
        """The field that shows a service's error ``attribute[code]`` (see
        ``views.public.apply_service_errors``)."""
        subject = self.cleaned_data.get("category", "") if hasattr(self, "cleaned_data") else ""
        if key.startswith("attribute[") and key.endswith("]"):
            name = question_field_name(subject, key[len("attribute[") : -1])
            return name if name in self.fields else None
        return None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        subject = data.get("category", "")
        answers: dict[str, Any] = {}
        for question in self.questions.get(subject, ()):
            name = question_field_name(subject, question.code)
            raw = data.get(name)
            if name in self.errors:
                continue
            try:
                value = attribute_rules.clean_value(question.datatype, raw, question.keys)
            except ValidationError as error:
                self.add_error(name, error)
                continue
            if value is None or value == []:
                if question.required:
                    self.add_error(name, _("Answer this question."))
                continue
            answers[question.code] = raw
        data["attributes"] = answers
        return data

    def place_offered(self, data: dict[str, Any]) -> bool:
        return any(getattr(photo, "position", None) for photo in data.get("photos") or ())


class IntakeForm(ReportForm):
    """The same report, taken by an agent from a phone call, the desk, a mail or a chat."""

    field_order = ["channel", *ReportForm.field_order, "reporter_language"]
    # The consent is needed as soon as contact details are given.
    conditionally_required = (*ReportForm.conditionally_required, "consent")

    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[(c.value, c.label) for c in Channel if c not in (Channel.WEB, Channel.API)],
    )
    reporter_language = forms.ChoiceField(
        label=_("Language of the reporter"), choices=settings.LANGUAGES, initial="nl"
    )
    consent = forms.BooleanField(
        label=_("The reporter agreed that their details are used to handle this report."),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].widget = forms.Select()
        self.fields["category"].choices = [("", "—"), *self.fields["category"].choices]
        self.fields["photos"].help_text = _("Up to 3 photos, for example from an e-mail.")


class AnswerForm(forms.Form):
    body = forms.CharField(
        label=_("Your answer"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )


class PhotoForm(forms.Form):
    photos = PhotosField(label=_("Add photos"))


class SatisfactionForm(forms.Form):
    """Asked once after resolution: one of the municipality's standard answers, a comment,
    and, when the problem is not solved, a request to look at it again (ADR 0039)."""

    option = forms.TypedChoiceField(
        label=_("Are you satisfied with how we handled your report?"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose one of the answers.")},
    )
    comment = forms.CharField(
        label=_("Anything you want to tell us?"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    reopen = forms.BooleanField(
        label=_("The problem is not solved: please look at it again"),
        help_text=_("Tell us above what is still wrong. An agent decides and lets you know."),
        required=False,
    )

    def __init__(self, options: Any = (), *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["option"].choices = [(o.pk, o.display_text) for o in options]


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the problem not solved?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
