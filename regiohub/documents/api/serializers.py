"""What the letters API reads and answers.

Reading: a submission's metadata arrives as one JSON object (the ``metadata`` part of a
multipart request, or the whole body of a JSON request) or as form fields named by the
same dotted paths (``recipient.number``, ``address.lines``, ``subject.nl``). Either way it
becomes one nested object, checked here only for its shape (text where text belongs, a
list of lines, an object of subjects; no unknown fields); what the values mean is for
``services.submit`` to say, with the same dotted names, so a client sees one set of
field names in what it sends and in the errors it gets back.

Answering: a letter with its status, checkpoints, files and their digests, and its
hash-chained trail. A citizen's national register number is shown masked
(``Letter.recipient_shown``), and scrubbed from any text a channel may have echoed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from regiohub.core.identifiers import IdentifierError, mask_national_number, national_number
from regiohub.documents.models import Letter, LetterEvent, LetterFile, RecipientKind, Status

#: Most variables a template letter may fill in, and the longest value of one.
MAX_VARIABLES = 100
MAX_VARIABLE_LENGTH = 50_000
#: Longest message in an error answer (a service may quote what was sent).
MAX_MESSAGE = 1000


# --- Reading a submission ------------------------------------------------------------------


def _text(**kwargs: Any) -> serializers.CharField:
    """Text as sent: not trimmed, blank allowed (the service says what is required)."""
    return serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, **kwargs)


class _Strict(serializers.Serializer):
    """A serializer that names fields it does not know instead of dropping them: a typo
    (``recipient_number`` for ``recipient.number``) is an error, not a letter without."""

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            unknown = {
                str(name)[:50]: [_("Unknown field.")] for name in data if name not in self.fields
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as invalid:
            if unknown and isinstance(invalid.detail, dict):
                invalid.detail.update({k: [ErrorDetail(m) for m in v] for k, v in unknown.items()})
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class LetterRecipientInputSerializer(_Strict):
    kind = _text(help_text="`citizen` (by national register number) or `enterprise` (by KBO).")
    number = _text(
        help_text="The national register number (11 digits) or the enterprise number (10 "
        "digits); dots, dashes and spaces are allowed. Checked by its check digits."
    )
    name = _text(help_text="The recipient's name as printed on the envelope; needed on paper.")


class LetterAddressInputSerializer(_Strict):
    lines = serializers.ListField(
        child=_text(),
        required=False,
        max_length=20,
        help_text="The postal address under the name, one line each (street, postcode and "
        "municipality). Needed unless the recipient reads the eBox.",
    )
    country = _text(help_text="ISO 3166 code of the country; default BE.")


class LetterSubmissionSerializer(_Strict):
    """A letter's metadata (the JSON object, or the form fields by their dotted names)."""

    reference = _text(
        help_text="The sender's reference (1 to 80 characters), such as a file number."
    )
    idempotency_key = _text(
        help_text="1 to 255 printable ASCII characters, new for each letter (a UUID, say). "
        "The same key with the same content answers the letter stored the first time (200); "
        "with other content it is refused (409). May instead be sent as the `Idempotency-Key` "
        "header."
    )
    organisation = _text(
        help_text="The sending municipality, by its code (KOR) or id. Default: the only one "
        "whose letters the caller may send."
    )
    department = _text(help_text="The sending department, as the recipient should read it.")
    language = _text(help_text="The letter's language: nl (default), fr, de or en.")
    recipient = LetterRecipientInputSerializer(required=False)
    address = LetterAddressInputSerializer(required=False)
    subject = serializers.DictField(
        child=_text(),
        required=False,
        help_text="The subject per language (nl, fr, de); at least one.",
    )
    template = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="Instead of PDFs: the id of a letter template of the municipality, written "
        "with `variables` into the letter's one PDF.",
    )
    variables = serializers.DictField(
        child=_text(max_length=MAX_VARIABLE_LENGTH),
        required=False,
        help_text="With `template`: the values of its variables (`body`, `salutation`, ...).",
    )

    def validate_variables(self, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_VARIABLES:
            raise serializers.ValidationError(
                _("At most %(count)d variables.") % {"count": MAX_VARIABLES}
            )
        return value


class LetterResendRecipientSerializer(_Strict):
    name = _text(help_text="The recipient's name, corrected.")


class LetterResendAddressSerializer(_Strict):
    lines = serializers.ListField(
        child=_text(), required=False, max_length=20, help_text="The postal address, corrected."
    )


class LetterResendSerializer(_Strict):
    """A failed letter sent again, optionally to a corrected name and address."""

    recipient = LetterResendRecipientSerializer(required=False)
    address = LetterResendAddressSerializer(required=False)


class BadMetadata(ValueError):
    """The metadata cannot be read at all: the parameter at fault and why."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


#: Form fields and where they go in the metadata object.
_SCALARS = {
    "reference": ("reference",),
    "idempotency_key": ("idempotency_key",),
    "organisation": ("organisation",),
    "department": ("department",),
    "language": ("language",),
    "template": ("template",),
    "recipient.kind": ("recipient", "kind"),
    "recipient.number": ("recipient", "number"),
    "recipient.name": ("recipient", "name"),
    "address.country": ("address", "country"),
}
_LISTS = {"address.lines": ("address", "lines")}


def json_object(raw: bytes | str, parameter: str) -> dict[str, Any]:
    """``raw`` as a JSON object, or :class:`BadMetadata`."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise BadMetadata(
                parameter,
                _("This is not UTF-8 text (byte %(position)d). Send JSON in UTF-8.")
                % {"position": error.start + 1},
            ) from None
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        why = str(error)[:200]
        raise BadMetadata(parameter, _("This is not JSON: %(why)s") % {"why": why}) from None
    if not isinstance(value, dict):
        raise BadMetadata(parameter, _("This is a JSON object ({…}), not an array or a value."))
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(_("%(name)s is not a JSON value") % {"name": name})


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for step in path[:-1]:
        target = target.setdefault(step, {})
    target[path[-1]] = value


def form_metadata(
    fields: QueryDict, metadata_parts: list[bytes] | None = None, *, resend: bool = False
) -> dict[str, Any]:
    """The metadata object that form fields (dotted names) spell, or :class:`BadMetadata`.
    A ``metadata`` part (a form field, or a file part of type application/json) holds the
    whole object as JSON instead (not both)."""
    names = [name for name in fields if name != "csrfmiddlewaretoken"]
    parts: list[bytes | str] = [*fields.getlist("metadata"), *(metadata_parts or [])]
    if parts:
        others = [name for name in names if name != "metadata"]
        if others:
            raise BadMetadata(
                _label(others[0]),
                _("Send the metadata as the JSON part or as form fields, not both."),
            )
        if len(parts) != 1:
            raise BadMetadata("metadata", _("Send one metadata part."))
        return json_object(parts[0], "metadata")
    data: dict[str, Any] = {}
    for name in names:
        values = fields.getlist(name)
        if name in _LISTS:  # repeated, or one value with a line per line
            lines = [line for value in values for line in value.splitlines()]
            _put(data, _LISTS[name], lines)
        elif name.startswith("subject.") and not resend:
            _put(data, ("subject", name.removeprefix("subject.")), _one(name, values))
        elif name == "variables" and not resend:
            data["variables"] = json_object(_one(name, values), "variables")
        elif name in _SCALARS:
            _put(data, _SCALARS[name], _one(name, values))
        else:
            data[name] = values[-1]  # named as unknown by the serializer
    return data


def _one(name: str, values: list[str]) -> str:
    if len(values) != 1:
        raise BadMetadata(_label(name), _("Send this field once."))
    return values[0]


def _label(name: str) -> str:
    return "".join(c for c in str(name) if c.isprintable())[:50] or "?"


def flat_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors with dotted names: ``{"recipient": {"name": [...]}}`` becomes
    ``{"recipient.name": [...]}`` (a list's item: ``address.lines.2``)."""
    found: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key)
            if name in ("non_field_errors", "detail"):
                name = ""
            for field, messages in flat_errors(value, _join(prefix, name)).items():
                found.setdefault(field, []).extend(messages)
    elif isinstance(detail, list) and all(not isinstance(item, dict | list) for item in detail):
        found[prefix or "metadata"] = [str(item) for item in detail]
    elif isinstance(detail, list):
        for item in detail:
            for field, messages in flat_errors(item, prefix).items():
                found.setdefault(field, []).extend(messages)
    else:
        found[prefix or "metadata"] = [str(detail)]
    return found


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix and name else prefix or name


def error_items(errors: Mapping[str, Any]) -> list[dict[str, str]]:
    """``{"field": ["message", ...]}`` as the API's error items."""
    return [
        {"parameter": str(name), "message": str(message)[:MAX_MESSAGE]}
        for name, messages in errors.items()
        for message in (messages if isinstance(messages, list | tuple) else [messages])
    ]


# --- Answering ----------------------------------------------------------------------------


def scrub(value: Any, letter: Letter) -> Any:
    """``value`` with the letter's national register number masked wherever it occurs in
    text (an error a channel answered may quote it)."""
    if letter.recipient_kind != RecipientKind.CITIZEN or not letter.recipient_number:
        return value
    digits = letter.recipient_number
    spelled = [digits]
    with contextlib.suppress(IdentifierError):
        spelled.append(national_number(digits).formatted)
    mask = mask_national_number(digits)

    def clean(item: Any) -> Any:
        if isinstance(item, str):
            for form in spelled:
                item = item.replace(form, mask)
            return item
        if isinstance(item, dict):
            return {clean(k): clean(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [clean(v) for v in item]
        return item

    return clean(value)


class LetterRecipientSerializer(serializers.Serializer):
    kind = serializers.CharField(
        source="recipient_kind", read_only=True, help_text="`citizen` or `enterprise`."
    )
    number = serializers.CharField(
        source="recipient_shown",
        read_only=True,
        help_text="A national register number masked (••.••.••-•23.61); an enterprise "
        "number whole.",
    )
    name = serializers.CharField(source="recipient_name", read_only=True)


class LetterCheckpointsSerializer(serializers.Serializer):
    """When each step was done (``null``: not yet)."""

    received = serializers.DateTimeField(source="created_at", read_only=True)
    signed = serializers.DateTimeField(source="signed_at", read_only=True, allow_null=True)
    routed = serializers.DateTimeField(source="routed_at", read_only=True, allow_null=True)
    published = serializers.DateTimeField(source="published_at", read_only=True, allow_null=True)
    batched = serializers.DateTimeField(source="batched_at", read_only=True, allow_null=True)
    read = serializers.DateTimeField(source="read_at", read_only=True, allow_null=True)
    delivered = serializers.DateTimeField(source="delivered_at", read_only=True, allow_null=True)
    returned = serializers.DateTimeField(source="returned_at", read_only=True, allow_null=True)
    failed = serializers.DateTimeField(source="failed_at", read_only=True, allow_null=True)


def letter_path(letter: Letter) -> str:
    return reverse("documents-api:letter-detail", kwargs={"public_id": str(letter.public_id)})


class LetterSerializer(serializers.ModelSerializer):
    """A letter in a list: who it is for, where it stands and how it left."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    url = serializers.SerializerMethodField()
    organisation = serializers.CharField(source="organisation.code", read_only=True)
    recipient = LetterRecipientSerializer(source="*", read_only=True)
    subject = serializers.DictField(
        child=serializers.CharField(),
        source="subjects",
        read_only=True,
        help_text="The subject per language (nl, fr, de).",
    )
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    channel = serializers.CharField(
        read_only=True, help_text="`ebox` or `paper`; empty until the letter is routed."
    )
    paper_copy = serializers.BooleanField(
        read_only=True,
        help_text="Also sent on paper (the recipient never opened the eBox or did not read "
        "the letter in time).",
    )
    checkpoints = LetterCheckpointsSerializer(source="*", read_only=True)
    last_error = serializers.SerializerMethodField()

    class Meta:
        model = Letter
        fields = [
            "id", "url", "organisation", "department", "reference", "idempotency_key",
            "recipient", "language", "subject", "status", "channel", "paper_copy",
            "checkpoints", "attempts", "last_error", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, letter: Letter) -> str:
        return letter_path(letter)

    def get_last_error(self, letter: Letter) -> str:
        """Why the last try failed (empty when it did not)."""
        return str(scrub(letter.last_error, letter))


class LetterFileSerializer(serializers.ModelSerializer):
    """One PDF: its digests as received, as sealed and as the channel confirmed it."""

    name = serializers.CharField(source="filename", read_only=True)
    url = serializers.SerializerMethodField()
    received_size = serializers.IntegerField(source="original_size", read_only=True)
    received_sha256 = serializers.CharField(source="original_sha256", read_only=True)
    sealed_size = serializers.IntegerField(source="signed_size", read_only=True, allow_null=True)
    sealed_sha256 = serializers.SerializerMethodField()
    delivered_sha256 = serializers.SerializerMethodField()
    delivered_as_sealed = serializers.SerializerMethodField()

    class Meta:
        model = LetterFile
        fields = [
            "position", "name", "url", "received_size", "received_sha256", "sealed_size",
            "sealed_sha256", "delivered_sha256", "delivered_as_sealed",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, item: LetterFile) -> str:
        """The sealed PDF (once the letter is sealed)."""
        return reverse(
            "documents-api:letter-file",
            kwargs={"public_id": str(self.context["letter"].public_id), "position": item.position},
        )

    @extend_schema_field(
        {"type": "string", "nullable": True, "description": "SHA-256 of the sealed PDF."}
    )
    def get_sealed_sha256(self, item: LetterFile) -> str | None:
        """SHA-256 of the sealed PDF (``null`` until sealed)."""
        return item.signed_sha256 or None

    @extend_schema_field(
        {
            "type": "string",
            "nullable": True,
            "description": "SHA-256 of what the channel confirmed it received.",
        }
    )
    def get_delivered_sha256(self, item: LetterFile) -> str | None:
        """SHA-256 of what the eBox or the print partner confirmed it received (``null``
        until then)."""
        return item.delivered_sha256 or None

    def get_delivered_as_sealed(self, item: LetterFile) -> bool:
        """The bytes delivered are the bytes sealed (false until both are known)."""
        return bool(item.signed_sha256) and item.signed_sha256 == item.delivered_sha256


class LetterEventSerializer(serializers.ModelSerializer):
    """One step of the trail. ``digest`` is SHA-256 over ``previous`` and the step's
    content in canonical JSON (letter id, sequence, at, status, action, actor, detail)."""

    detail = serializers.SerializerMethodField()

    class Meta:
        model = LetterEvent
        fields = ["sequence", "at", "status", "action", "actor", "detail", "previous", "digest"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_detail(self, event: LetterEvent) -> Any:
        return scrub(event.detail, self.context["letter"])


class LetterDetailSerializer(LetterSerializer):
    """A letter with its address, files, trail and whether the trail is whole."""

    address = serializers.SerializerMethodField()
    submitted_by = serializers.CharField(source="created_by", read_only=True)
    files = serializers.SerializerMethodField()
    trail = serializers.SerializerMethodField()
    trail_intact = serializers.SerializerMethodField()
    trail_broken_at = serializers.SerializerMethodField()

    class Meta(LetterSerializer.Meta):
        fields = [
            *LetterSerializer.Meta.fields, "address", "submitted_by", "files", "trail",
            "trail_intact", "trail_broken_at",
        ]  # fmt: skip
        read_only_fields = fields

    def _verdict(self, letter: Letter) -> Any:
        """The trail checked once per answer (two fields show it)."""
        from regiohub.documents import queries

        verdicts = self.__dict__.setdefault("_verdicts", {})
        if letter.pk not in verdicts:
            verdicts[letter.pk] = queries.verify_trail(letter)
        return verdicts[letter.pk]

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "lines": {"type": "array", "items": {"type": "string"}},
                "country": {"type": "string"},
            },
        }
    )
    def get_address(self, letter: Letter) -> dict[str, Any]:
        return {"lines": list(letter.address_lines or []), "country": letter.country_code}

    @extend_schema_field(LetterFileSerializer(many=True))
    def get_files(self, letter: Letter) -> Any:
        context = {**self.context, "letter": letter}
        files = letter.files.order_by("position")
        return LetterFileSerializer(files, many=True, context=context).data

    @extend_schema_field(LetterEventSerializer(many=True))
    def get_trail(self, letter: Letter) -> Any:
        from regiohub.documents import queries

        context = {**self.context, "letter": letter}
        return LetterEventSerializer(queries.trail_of(letter), many=True, context=context).data

    def get_trail_intact(self, letter: Letter) -> bool:
        """Every digest of the trail follows from the stored rows (recomputed now)."""
        return bool(self._verdict(letter).intact)

    @extend_schema_field(
        {
            "type": "integer",
            "nullable": True,
            "description": "The first step that does not follow from the one before.",
        }
    )
    def get_trail_broken_at(self, letter: Letter) -> int | None:
        """The first step that does not follow from the one before (``null``: none)."""
        return self._verdict(letter).broken_at


class LetterErrorItemSerializer(serializers.Serializer):
    parameter = serializers.CharField(
        help_text="The field at fault, by its dotted name (`recipient.number`, "
        "`address`, `files`); empty for the request as a whole."
    )
    message = serializers.CharField()


class LetterErrorsSerializer(serializers.Serializer):
    """What is wrong; nothing was stored or changed."""

    # The stubs take this for Serializer.errors; DRF's metaclass takes declared fields off
    # the class, so the two never meet (as OrganisationSerializer.parent).
    errors = LetterErrorItemSerializer(many=True)  # type: ignore[assignment]
