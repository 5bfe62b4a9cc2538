"""Forms of the letters pages. They check the shape of what a person typed; the rules
(checksums, the PDF checks, the address a letter on paper needs) live in ``services``,
whose errors per field (``recipient.number``, ``files`` ...) :meth:`LetterForm.add_service_errors`
places next to these fields."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from regiohub.core.models import Organisation
from regiohub.documents.compose import default_template, required_variables_of, variables_of
from regiohub.documents.models import ChannelName, LetterTemplate, RecipientKind, Status


def _lines(text: str) -> list[str]:
    """A textarea's lines, trimmed, without empty ones (an address, one line per line)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# --- The list's filters -------------------------------------------------------------------


class LetterFilterForm(forms.Form):
    """The filters above the letters list (GET). A value that is not one of the choices
    is left out, so an old bookmark still opens the list."""

    q = forms.CharField(
        label=_("Reference"),
        required=False,
        max_length=80,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    municipality = forms.ChoiceField(label=_("Municipality"), required=False)

    def __init__(self, organisations: Iterable[Any], *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "f-%s")
        super().__init__(*args, **kwargs)
        any_ = ("", _("Any"))
        self.organisations = {org.code: org for org in organisations}
        cast(forms.ChoiceField, self.fields["status"]).choices = [any_, *Status.choices]
        cast(forms.ChoiceField, self.fields["channel"]).choices = [any_, *ChannelName.choices]
        cast(forms.ChoiceField, self.fields["municipality"]).choices = [
            any_,
            *((code, org.display_name) for code, org in self.organisations.items()),
        ]

    def chosen(self) -> dict[str, str]:
        """The valid filters, by name (empty ones left out)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if value and name not in self.errors
        }

    def apply(self, letters: QuerySet[Any]) -> QuerySet[Any]:
        chosen = self.chosen()
        if "q" in chosen:
            letters = letters.filter(reference__icontains=chosen["q"].strip())
        if "status" in chosen:
            letters = letters.filter(status=chosen["status"])
        if "channel" in chosen:
            letters = letters.filter(channel=chosen["channel"])
        if "municipality" in chosen:
            letters = letters.filter(organisation=self.organisations[chosen["municipality"]])
        return letters

    def params(self) -> str:
        """The valid filters as a query string (for the pager's links)."""
        return urlencode(self.chosen())


# --- A letter submitted by hand -------------------------------------------------------------


class MultiplePdfInput(forms.FileInput):
    allow_multiple_selected = True


class PdfFilesField(forms.FileField):
    """The letter's PDFs as ``(name, bytes)``; whether they are fit to seal and send is
    the service's question (``pdfs.check_letter``), asked with everything else at once."""

    widget = MultiplePdfInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)
        self.widget.attrs.update({"accept": "application/pdf,.pdf"})

    def clean(self, data: Any, initial: Any = None) -> list[tuple[str, bytes]]:
        uploads = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        return [(getattr(f, "name", "") or "letter.pdf", f.read()) for f in uploads]


#: Where a service error about ``key`` is shown (see :meth:`LetterForm.add_service_errors`).
SERVICE_FIELDS = {
    "organisation": "municipality",
    "reference": "reference",
    "department": "department",
    "recipient.kind": "recipient_kind",
    "recipient.number": "recipient_number",
    "recipient.name": "recipient_name",
    "address": "address",
    "address.country": "address",
    "language": "language",
    "subject": "subject_nl",
    "subject.nl": "subject_nl",
    "subject.fr": "subject_fr",
    "subject.de": "subject_de",
    "files": "pdfs",
    "template": "template",
    "variables": "template",
}

NO_FILES = _("Choose the letter's PDF files, or a template to write it from below.")

#: The standard letter (``letters/default.typ``): offered when composing, for every
#: municipality, next to the municipality's own templates.
STANDARD = "standard"

#: Words for the variables of the standard letter; a municipality's own variables are
#: shown by their name.
KNOWN_VARIABLES: dict[str, tuple[Any, Any, bool]] = {
    "salutation": (_("Salutation"), _("For example: Dear Ms Peeters,"), False),
    "closing": (_("Closing"), _("Empty: the usual closing in the letter's language."), False),
    "signatory": (_("Signed by"), _("One line per line: name, then function."), True),
}

LANGUAGES = [("nl", _("Dutch")), ("fr", _("French")), ("de", _("German")), ("en", _("English"))]


class LetterForm(forms.Form):
    """A letter submitted by hand: the PDFs uploaded, or the letter written here from a
    template of the municipality. The hidden ``idempotency_key`` is made when the form
    is shown, so a double click or a browser that sends the form again is one letter."""

    #: Never marked "(optional)": the help text says when they are needed.
    conditionally_required = (
        "recipient_name",
        "address",
        "subject_nl",
        "subject_fr",
        "subject_de",
        "pdfs",
        "template",
        "body",
    )

    municipality = forms.ModelChoiceField(
        label=_("Municipality"),
        queryset=Organisation.objects.none(),
        empty_label=_("Choose the municipality"),
        help_text=_("The letter is sealed with its seal and sent in its name."),
    )
    department = forms.CharField(label=_("Department"), required=False, max_length=200)
    reference = forms.CharField(
        label=_("Reference"),
        max_length=80,
        help_text=_("Your file number, for example OMV-2026-0042. The recipient sees it."),
    )
    recipient_kind = forms.ChoiceField(label=_("Recipient"), choices=RecipientKind.choices)
    recipient_number = forms.CharField(
        label=_("National register number or enterprise number"),
        max_length=20,
        help_text=_(
            "A citizen's 11 digits or an enterprise's 10 digits; dots, dashes and spaces "
            "may stay. It is checked, and shown masked on every page."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    recipient_name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=200,
        help_text=_("Needed for a letter on paper."),
    )
    address = forms.CharField(
        label=_("Postal address"),
        required=False,
        max_length=1000,
        help_text=_(
            "One line per line: street and number, then postcode and town. Needed when the "
            "recipient does not use the eBox: the letter then goes on paper."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    language = forms.ChoiceField(label=_("Language of the letter"), choices=LANGUAGES)
    subject_nl = forms.CharField(
        label=_("Subject in Dutch"),
        required=False,
        max_length=400,
        help_text=_("At least one of the three; the eBox shows the recipient's language."),
    )
    subject_fr = forms.CharField(label=_("Subject in French"), required=False, max_length=400)
    subject_de = forms.CharField(label=_("Subject in German"), required=False, max_length=400)
    # Not "files": a form's ``files`` are its uploads.
    pdfs = PdfFilesField(
        label=_("PDF files"),
        help_text=_(
            "Up to 6 PDFs, 30 MB together, each sealed as it is: no password, no "
            "JavaScript, no attached files."
        ),
    )
    template = forms.ChoiceField(
        label=_("Template"),
        required=False,
        help_text=_("Instead of PDF files: the letter is written from this template."),
    )
    body = forms.CharField(
        label=_("Text of the letter"),
        required=False,
        max_length=20000,
        help_text=_("A blank line starts a new paragraph."),
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    # A plain Field: no validator may put an error on a field nobody sees.
    idempotency_key = forms.Field(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        organisations: QuerySet[Any],
        templates: Iterable[LetterTemplate],
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        municipality = self.fields["municipality"]
        municipality.queryset = organisations  # type: ignore[attr-defined]
        municipality.label_from_instance = lambda org: org.display_name  # type: ignore[attr-defined]
        if not self.is_bound and len(organisations) == 1:
            self.initial.setdefault("municipality", organisations[0].pk)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", str(uuid.uuid4()))
        self.templates = {str(t.pk): t for t in templates}
        several = len({t.organisation_id for t in self.templates.values()}) > 1
        cast(forms.ChoiceField, self.fields["template"]).choices = [
            ("", _("None: I upload the PDF files")),
            (STANDARD, _("Standard letter")),
            *(
                (key, f"{t.name} ({t.organisation.display_name})" if several else t.name)
                for key, t in self.templates.items()
            ),
        ]
        self.variable_fields = self._add_variable_fields()

    def _add_variable_fields(self) -> list[str]:
        """A field for each variable the templates ask for, other than ``body``."""
        used: dict[str, list[str]] = {}
        for name, source in [
            (str(_("Standard letter")), default_template()),
            *((t.name, t.source) for t in self.templates.values()),
        ]:
            for variable in variables_of(source):
                if variable != "body":
                    used.setdefault(variable, []).append(name)
        names = []
        for variable, templates in used.items():
            label, help_text, lines = KNOWN_VARIABLES.get(variable, (variable, "", False))
            if variable not in KNOWN_VARIABLES:
                help_text = _("Asked for by: %(templates)s.") % {"templates": ", ".join(templates)}
            self.fields[f"var_{variable}"] = forms.CharField(
                label=label,
                required=False,
                max_length=2000,
                help_text=help_text,
                widget=forms.Textarea(attrs={"rows": 2}) if lines else forms.TextInput(),
            )
            names.append(f"var_{variable}")
        return names

    @property
    def variable_inputs(self) -> list[forms.BoundField]:
        """The bound fields of the templates' variables, in the order they were found."""
        return [self[name] for name in self.variable_fields]

    def composing(self) -> bool:
        """Whether the person chose to write the letter from a template (the section
        that asks for it is unfolded then)."""
        return self.is_bound and bool(self.data.get("template"))

    # --- cleaning

    def clean_idempotency_key(self) -> str:
        """The key the form was shown with; a missing or mangled one (a hand-made
        request) becomes a fresh one: the service would refuse it, and the person could
        do nothing about a hidden field."""
        key = self.cleaned_data.get("idempotency_key") or ""
        if (
            not isinstance(key, str)
            or not key
            or len(key) > 255
            or not key.isascii()
            or not key.isprintable()
        ):
            key = str(uuid.uuid4())
        return key

    def clean_address(self) -> list[str]:
        return _lines(self.cleaned_data.get("address", ""))

    def chosen_template(self) -> LetterTemplate | None:
        """The template to write the letter from (``None``: PDFs uploaded)."""
        key = self.cleaned_data.get("template") or ""
        if key == STANDARD:
            organisation = self.cleaned_data.get("municipality")
            return LetterTemplate(
                organisation=organisation,
                name=str(_("Standard letter")),
                source=default_template(),
                department=self.cleaned_data.get("department", ""),
            )
        return self.templates.get(key)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        files = data.get("pdfs") or []
        key = data.get("template") or ""
        if not key:  # PDFs uploaded: the service checks them, with everything else
            return data
        if files:
            self.add_error(
                "pdfs",
                _("Either upload PDF files or write the letter from a template, not both."),
            )
            return data
        template = self.chosen_template()
        organisation = data.get("municipality")
        if template is None:
            return data
        if organisation is not None and template.organisation_id != organisation.pk:
            self.add_error(
                "template",
                _("This template belongs to %(other)s; choose one of %(organisation)s.")
                % {
                    "other": template.organisation.display_name,
                    "organisation": organisation.display_name,
                },
            )
            return data
        for variable in required_variables_of(template.source):
            field = "body" if variable == "body" else f"var_{variable}"
            if field in self.fields and not data.get(field) and field not in self.errors:
                self.add_error(
                    field, _("The template %(name)s needs this.") % {"name": template.name}
                )
        return data

    # --- what the service gets

    def subjects(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            lang: data[f"subject_{lang}"]
            for lang in ("nl", "fr", "de")
            if data.get(f"subject_{lang}")
        }

    def subject_for_letter(self) -> str:
        """The subject printed on a composed letter: in its language when given."""
        subjects = self.subjects()
        language = self.cleaned_data.get("language", "nl")
        return subjects.get(language) or next(iter(subjects.values()), "")

    def variables(self) -> dict[str, str]:
        data = self.cleaned_data
        found = {
            name.removeprefix("var_"): data[name] for name in self.variable_fields if data.get(name)
        }
        if data.get("body"):
            found["body"] = data["body"]
        return found

    def add_service_errors(self, errors: Mapping[str, list[str]]) -> None:
        """Place a service's errors (``SubmissionError.errors``) next to their fields;
        those of no field of this form go to the top."""
        composing = bool(self.cleaned_data.get("template"))
        for key, messages in errors.items():
            name = SERVICE_FIELDS.get(key)
            if name == "pdfs" and composing:
                name = "template"
            if key == "idempotency_key":  # a fresh key: the next send is a new letter
                self.renew_key()
                name = None
            if name == "pdfs" and not self.cleaned_data.get("pdfs"):
                messages = [str(NO_FILES)]
            for message in messages:
                self.add_error(name if name in self.fields else None, message)

    def renew_key(self) -> None:
        data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict
        data["idempotency_key"] = str(uuid.uuid4())
        self.data = data


# --- Sending a failed letter again ------------------------------------------------------------


class ResendForm(forms.Form):
    """Send a failed letter again, optionally to a corrected name and address."""

    conditionally_required = ("recipient_name", "address")

    recipient_name = forms.CharField(
        label=_("Corrected name"),
        required=False,
        max_length=200,
        help_text=_("Empty: the name the letter has."),
    )
    address = forms.CharField(
        label=_("Corrected postal address"),
        required=False,
        max_length=1000,
        help_text=_(
            "One line per line: street and number, then postcode and town. Empty: the "
            "letter is sent again as it is."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "resend-%s")
        super().__init__(*args, **kwargs)

    def clean_address(self) -> list[str]:
        return _lines(self.cleaned_data.get("address", ""))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("recipient_name") and not data.get("address") and "address" not in self.errors:
            raise ValidationError(
                {"address": _("To correct the name, give the postal address with it.")}
            )
        return data
