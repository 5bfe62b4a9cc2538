"""The letters API, the way a back-office system (a permit or tax application) sends
letters: ``/api/v1/letters/``.

``POST letters/`` submits a letter: multipart with the metadata (a JSON ``metadata`` part,
or form fields by dotted name) and 1 to 6 ``files`` (PDFs); or ``template`` and
``variables`` instead of files (JSON or multipart), written into the letter's PDF.
``GET letters/`` lists the letters the caller may see, ``GET letters/{id}/`` shows one with
its checkpoints, files and their digests and its hash-chained trail,
``GET letters/{id}/files/{position}/`` downloads a sealed PDF and
``POST letters/{id}/resend/`` sends a failed letter again.

Every read goes through ``documents.queries``: a letter out of reach is 404, never 403, so
its existence does not show. Sending needs ``SEND_LETTERS`` for the municipality (403),
checked before the (large) body is read: ``/api/v1/letters/`` is an upload path, whose
body the platform's middleware leaves to this view (``DocumentsConfig.upload_paths``).
Errors of what was sent are ``{"errors": [{"parameter", "message"}]}``, as in the
datasets API, with the field names the service uses (``recipient.number``, ``files``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request, is_form_media_type
from rest_framework.response import Response

from regiohub.core.models import Organisation
from regiohub.documents import queries, services
from regiohub.documents.api.serializers import (
    BadMetadata,
    LetterDetailSerializer,
    LetterErrorsSerializer,
    LetterResendSerializer,
    LetterSerializer,
    LetterSubmissionSerializer,
    error_items,
    flat_errors,
    form_metadata,
    letter_path,
)
from regiohub.documents.models import ChannelName, Letter, LetterFile, LetterTemplate, Status

TRUE = {"1", "true", "yes"}
FALSE = {"0", "false", "no"}
#: Dates a filter may name (far from the limits of a datetime in any time zone).
YEARS = (1900, 9000)


def errors_response(status: int, errors: Mapping[str, list[str]]) -> JsonResponse:
    return JsonResponse(
        {"errors": error_items(errors)}, status=status, json_dumps_params={"ensure_ascii": False}
    )


class Refused(Exception):
    """An answer other than the letter: ``status`` and the errors per parameter."""

    def __init__(self, status: int, errors: Mapping[str, list[str]]) -> None:
        super().__init__(status)
        self.status = status
        self.errors = errors

    @classmethod
    def one(cls, status: int, parameter: str, message: str) -> Refused:
        return cls(status, {parameter: [message]})

    def response(self) -> JsonResponse:
        return errors_response(self.status, self.errors)


# --- Reading what was sent ------------------------------------------------------------------


def _check_length(request: Request) -> None:
    """413 before the body is read when it is larger than a letter may be."""
    limit_mb = int(settings.DOCUMENTS_MAX_UPLOAD_MB)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit_mb * 1024 * 1024:
        raise Refused.one(
            413,
            "",
            _("A letter may be at most %(mb)d MB with its form; this is %(size).1f MB.")
            % {"mb": limit_mb, "size": length / (1024 * 1024)},
        )


def _body(request: Request) -> Any:
    """The parsed body, or :class:`Refused` saying why it cannot be read."""
    try:
        return request.data
    except exceptions.UnsupportedMediaType:
        raise Refused.one(
            415,
            "Content-Type",
            _("Send multipart/form-data (with the PDFs) or application/json (a template letter)."),
        ) from None
    except exceptions.ParseError as error:
        raise Refused.one(400, "", str(error.detail)[:300]) from None
    except RecursionError:
        raise Refused.one(400, "", _("The body is nested too deeply.")) from None
    except SuspiciousOperation:
        # Django's limits on form fields (DATA_UPLOAD_MAX_MEMORY_SIZE, the number of
        # fields and files): no field of a letter comes near them.
        raise Refused.one(
            400,
            "",
            _(
                "The form has a field larger than %(mb)d MB or too many fields or files. Send "
                "the metadata as a JSON part and at most 6 files."
            )
            % {"mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)},
        ) from None


def _is_form(request: Request, data: Any) -> bool:
    return isinstance(data, QueryDict) or is_form_media_type(request.content_type or "")


def _read_submission(request: Request) -> tuple[dict[str, Any], list[Any]]:
    """The metadata object and the uploaded files of a submission."""
    data = _body(request)
    try:
        if not _is_form(request, data):
            if not isinstance(data, dict):
                raise BadMetadata(
                    "metadata", _("This is a JSON object ({…}), not an array or a value.")
                )
            return dict(data), []
        fields = request.POST if is_form_media_type(request.content_type or "") else QueryDict()
        unknown = [name for name in request.FILES if name not in ("files", "metadata")]
        if unknown:
            raise BadMetadata(
                _label(unknown[0]), _("Unknown file part: the PDFs go in parts named files.")
            )
        if "files" in fields:
            raise BadMetadata("files", _("Send each PDF as a file part, with its file name."))
        parts = [upload.read() for upload in request.FILES.getlist("metadata")]
        return form_metadata(fields, parts), list(request.FILES.getlist("files"))
    except BadMetadata as bad:
        raise Refused.one(400, bad.parameter, bad.message) from None


def _label(name: str) -> str:
    return "".join(c for c in str(name) if c.isprintable())[:50] or "?"


def _with_header_key(request: Request, metadata: dict[str, Any]) -> None:
    """The ``Idempotency-Key`` header (as the eBox takes it) stands for the field."""
    header = request.headers.get("Idempotency-Key")
    if header is None:
        return
    given = metadata.get("idempotency_key")
    if given in (None, ""):
        metadata["idempotency_key"] = header
    elif given != header:
        raise Refused.one(
            400,
            "idempotency_key",
            _("The Idempotency-Key header and the idempotency_key field differ; send one."),
        )


def _organisation(user: Any, given: str) -> Organisation:
    """The sending municipality by code or id (default: the caller's only one); 403 when
    the caller may not send its letters."""
    text = given.strip()
    if not text:
        sending = list(queries.sending_organisations(user)[:2])
        if len(sending) == 1:
            return sending[0]
        raise Refused.one(
            400,
            "organisation",
            _(
                "Name the sending municipality by its code or id: you may send letters for "
                "more than one."
            ),
        )
    if text.isascii() and text.isdigit():
        found = Organisation.objects.filter(pk=int(text)).first() if len(text) < 10 else None
    else:
        found = Organisation.objects.filter(code=text[:50]).first()
    if found is None:
        raise Refused.one(400, "organisation", _("There is no organisation with this code or id."))
    if not queries.may_send(user, found):
        raise exceptions.PermissionDenied(
            _("You may not send letters for %(organisation)s.") % {"organisation": found}
        )
    return found


def _composed(
    user: Any, organisation: Organisation, clean: dict[str, Any], uploads: list[Any]
) -> list[tuple[str, bytes]]:
    """The letter's PDF written from its template, or :class:`Refused`."""
    if uploads:
        raise Refused.one(400, "files", _("Send PDFs or a template, not both."))
    template = LetterTemplate.objects.filter(
        organisation=organisation, pk=clean["template"], is_active=True
    ).first()
    if template is None:
        raise Refused.one(
            400,
            "template",
            _("%(organisation)s has no active letter template with this id.")
            % {"organisation": organisation},
        )
    recipient, address = clean.get("recipient", {}), clean.get("address", {})
    subjects = clean.get("subject", {})
    language = clean.get("language") or "nl"
    subject = subjects.get(language) or next((text for text in subjects.values() if text), "")
    # A submission sent again is written with the date it was first written: the same
    # letter in the same bytes, so its idempotency key recognises it.
    key = clean.get("idempotency_key", "")
    first = (
        queries.letters_for(user)
        .filter(organisation=organisation, idempotency_key=key)
        .values_list("created_at", flat=True)
        .first()
        if key and len(key) <= services.MAX_KEY
        else None
    )
    try:
        return services.compose_files(
            template,
            variables=clean.get("variables", {}),
            recipient_name=recipient.get("name", ""),
            address_lines=address.get("lines", []),
            subject=subject,
            reference=clean.get("reference", ""),
            language=language,
            dated=timezone.localdate(first) if first else None,
        )
    except services.SubmissionError as refused:
        raise Refused(400, refused.errors) from None


def _submission(
    organisation: Organisation, clean: dict[str, Any], files: list[tuple[str, bytes]]
) -> services.Submission:
    recipient, address = clean.get("recipient", {}), clean.get("address", {})
    return services.Submission(
        organisation=organisation,
        reference=clean.get("reference", ""),
        idempotency_key=clean.get("idempotency_key", ""),
        recipient_kind=recipient.get("kind", ""),
        recipient_number=recipient.get("number", ""),
        subjects=clean.get("subject", {}),
        files=files,
        recipient_name=recipient.get("name", ""),
        address_lines=address.get("lines", []),
        country_code=address.get("country") or "BE",
        language=clean.get("language") or "nl",
        department=clean.get("department", ""),
    )


def _actor_label(request: Request) -> str:
    """Who submitted, with the token's public prefix when a token was used."""
    prefix = str(getattr(request.auth, "prefix", "") or "")
    return f"{request.user} (API {prefix})" if prefix else ""


# --- The list's filters ---------------------------------------------------------------------


def _moment(text: str, parameter: str) -> datetime:
    """An ISO 8601 date (its start, local time) or date and time."""
    text = text.strip()
    moment: datetime | None = None
    try:
        day = parse_date(text)
        moment = datetime.combine(day, time.min) if day is not None else parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None or not YEARS[0] <= moment.year <= YEARS[1]:
        raise Refused.one(
            400,
            parameter,
            _(
                "Give an ISO 8601 date (2026-12-07) or date and time (2026-12-07T09:00:00+01:00) "
                "between the years %(first)d and %(last)d."
            )
            % {"first": YEARS[0], "last": YEARS[1]},
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _choice(params: Any, parameter: str, allowed: list[str]) -> str:
    value = str(params.get(parameter, ""))
    if value and value not in allowed:
        raise Refused.one(
            400,
            parameter,
            _("%(parameter)s is one of %(values)s.")
            % {"parameter": parameter, "values": ", ".join(allowed)},
        )
    return value


def filtered(letters: QuerySet[Letter], params: Any) -> QuerySet[Letter]:
    """``letters`` narrowed by the list's query parameters, or :class:`Refused`."""
    status = _choice(params, "status", list(Status.values))
    if status:
        letters = letters.filter(status=status)
    channel = _choice(params, "channel", list(ChannelName.values))
    if channel:
        letters = letters.filter(channel=channel)
    failed = str(params.get("failed", "")).strip().lower()
    if failed in TRUE:
        letters = letters.filter(failed_at__isnull=False)
    elif failed in FALSE:
        letters = letters.filter(failed_at__isnull=True)
    elif failed:
        raise Refused.one(400, "failed", _("failed is true or false."))
    reference = str(params.get("reference", ""))
    if reference:
        letters = letters.filter(reference=reference[: services.MAX_REFERENCE + 1])
    organisation = str(params.get("organisation", ""))
    if organisation:
        letters = letters.filter(organisation__code=organisation[:50])
    if params.get("created_after"):
        letters = letters.filter(
            created_at__gte=_moment(str(params["created_after"]), "created_after")
        )
    if params.get("created_before"):
        letters = letters.filter(
            created_at__lt=_moment(str(params["created_before"]), "created_before")
        )
    return letters


# --- How the OpenAPI schema describes it ----------------------------------------------------

PUBLIC_ID = OpenApiParameter(
    "public_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The letter's id."
)
POSITION = OpenApiParameter(
    "position",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="The file's place in the letter, from 1.",
)
ERRORS = OpenApiResponse(
    LetterErrorsSerializer, description="What is wrong, per field; nothing was stored."
)
NOT_LOGGED_IN = OpenApiResponse(OpenApiTypes.OBJECT, description="No valid token or login.")
NOT_FOUND = OpenApiResponse(OpenApiTypes.OBJECT, description="No such letter (for you).")

_TEXT = {"type": "string"}
MULTIPART = {
    "type": "object",
    "properties": {
        "metadata": {
            "type": "string",
            "description": "The metadata as one JSON object (LetterSubmission), as a field or "
            "a part of type application/json; or the form fields below instead.",
        },
        "files": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "1 to 6 PDFs, 30 MB together; not encrypted, without JavaScript, "
            "actions or embedded files.",
        },
        "reference": _TEXT,
        "idempotency_key": _TEXT,
        "organisation": _TEXT,
        "department": _TEXT,
        "language": _TEXT,
        "recipient.kind": _TEXT,
        "recipient.number": _TEXT,
        "recipient.name": _TEXT,
        "address.lines": {
            "type": "array",
            "items": _TEXT,
            "description": "Repeated, one line each (or one field with a line per line).",
        },
        "address.country": _TEXT,
        "subject.nl": _TEXT,
        "subject.fr": _TEXT,
        "subject.de": _TEXT,
        "template": {"type": "integer"},
        "variables": {"type": "string", "description": "A JSON object."},
    },
}
RESEND_FORM = {
    "type": "object",
    "properties": {
        "recipient.name": _TEXT,
        "address.lines": {"type": "array", "items": _TEXT},
    },
}

CREATE_SCHEMA = extend_schema(
    summary="Submit a letter",
    description=(
        "Hands a letter in to be sealed (PAdES B-T with the municipality's seal) and "
        "delivered: to the recipient's eBox when they use it, else on paper through the "
        "print partner. The letter is checked whole before anything is stored; the sealing "
        "and sending happen in the background (follow `status` and `checkpoints`).\n\n"
        "Send `multipart/form-data` with the metadata and 1 to 6 `files` parts (PDFs, 30 MB "
        "together). The metadata is one JSON object in a `metadata` part, or form fields "
        "named by the same dotted paths (`recipient.number`, `address.lines` repeated, "
        "`subject.nl`). Instead of PDFs, `template` (a letter template of the municipality) "
        "and `variables` write the letter's one PDF; such a letter may also be sent as "
        "`application/json`.\n\n"
        "Give each letter a new `idempotency_key` (or `Idempotency-Key` header): sent again "
        "with the same content it answers the letter stored the first time (200, header "
        "`Idempotent-Replayed: true`), never a second letter; with other content it is a "
        "409. Errors name each field at fault by its dotted name. For a write token, or a "
        "logged-in handler, of the municipality."
    ),
    parameters=[
        OpenApiParameter(
            "Idempotency-Key",
            OpenApiTypes.STR,
            OpenApiParameter.HEADER,
            description="The idempotency key, instead of the field (1 to 255 printable ASCII "
            "characters).",
        )
    ],
    request={
        "multipart/form-data": MULTIPART,
        "application/json": LetterSubmissionSerializer,
    },
    responses={
        201: OpenApiResponse(
            LetterDetailSerializer, description="Received; `Location` is its address."
        ),
        200: OpenApiResponse(
            LetterDetailSerializer,
            description="This idempotency key and content were received before: that letter.",
        ),
        400: OpenApiResponse(
            LetterErrorsSerializer,
            description="What is wrong, per field; nothing was stored.",
            examples=[
                OpenApiExample(
                    "Refused",
                    value={
                        "errors": [
                            {
                                "parameter": "recipient.number",
                                "message": "This national register number is not valid: "
                                "check the last two digits.",
                            },
                            {"parameter": "files", "message": "brief.pdf: This is not a PDF."},
                        ]
                    },
                )
            ],
        ),
        401: NOT_LOGGED_IN,
        403: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="A read token, or no right to send letters for this municipality.",
        ),
        409: OpenApiResponse(
            LetterErrorsSerializer,
            description="The idempotency key was used before for another letter.",
        ),
        413: OpenApiResponse(LetterErrorsSerializer, description="The request is too large."),
        415: OpenApiResponse(LetterErrorsSerializer, description="Another media type."),
    },
)

LIST_SCHEMA = extend_schema(
    summary="The letters",
    description="The letters the caller may see, newest first.",
    parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=list(Status.values)),
        OpenApiParameter("channel", OpenApiTypes.STR, enum=list(ChannelName.values)),
        OpenApiParameter(
            "failed",
            OpenApiTypes.BOOL,
            description="true: only the failed letters (to resend); false: none of them.",
        ),
        OpenApiParameter("reference", OpenApiTypes.STR, description="The sender's reference."),
        OpenApiParameter("organisation", OpenApiTypes.STR, description="The municipality's code."),
        OpenApiParameter(
            "created_after",
            OpenApiTypes.STR,
            description="Received at or after: an ISO 8601 date (from its start, Belgian "
            "time) or date and time.",
        ),
        OpenApiParameter(
            "created_before",
            OpenApiTypes.STR,
            description="Received before: an ISO 8601 date (before its start) or date and time.",
        ),
    ],
    responses={200: LetterSerializer(many=True), 400: ERRORS, 401: NOT_LOGGED_IN},
)

RETRIEVE_SCHEMA = extend_schema(
    summary="A letter with its trail and proof",
    description=(
        "The letter's status and checkpoints, each file's SHA-256 as received, as sealed "
        "and as the channel confirmed it received (`delivered_as_sealed`), and its trail: "
        "every step, hash-chained (`digest` is SHA-256 over `previous` and the step), with "
        "`trail_intact` recomputed from the stored steps."
    ),
    parameters=[PUBLIC_ID],
    responses={200: LetterDetailSerializer, 401: NOT_LOGGED_IN, 404: NOT_FOUND},
)

FILE_SCHEMA = extend_schema(
    summary="A sealed PDF of a letter",
    description="The PDF as sealed, byte for byte what was delivered (its SHA-256 is "
    "`sealed_sha256` and the `ETag`). 409 until the letter is sealed.",
    parameters=[PUBLIC_ID, POSITION],
    responses={
        (200, "application/pdf"): OpenApiTypes.BINARY,
        401: NOT_LOGGED_IN,
        404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such letter or file (for you)."),
        409: OpenApiResponse(LetterErrorsSerializer, description="Not sealed yet."),
    },
)

RESEND_SCHEMA = extend_schema(
    summary="Send a failed letter again",
    description=(
        "Tries a failed letter again from where it stopped (nothing done is done again), "
        "optionally to a corrected name and postal address. For a write token, or a "
        "logged-in handler, of the municipality."
    ),
    parameters=[PUBLIC_ID],
    request={
        "application/json": LetterResendSerializer,
        "multipart/form-data": RESEND_FORM,
        "application/x-www-form-urlencoded": RESEND_FORM,
    },
    responses={
        202: OpenApiResponse(LetterDetailSerializer, description="On its way again."),
        400: OpenApiResponse(LetterErrorsSerializer, description="The address is wrong."),
        401: NOT_LOGGED_IN,
        403: OpenApiResponse(
            OpenApiTypes.OBJECT, description="A read token, or no right to send letters."
        ),
        404: NOT_FOUND,
        409: OpenApiResponse(LetterErrorsSerializer, description="The letter is not failed."),
    },
)


# --- The views ----------------------------------------------------------------------------


@extend_schema_view(list=LIST_SCHEMA, retrieve=RETRIEVE_SCHEMA, create=CREATE_SCHEMA)
class LetterViewSet(viewsets.GenericViewSet):
    """Letters of the municipalities the caller may see."""

    serializer_class = LetterSerializer
    queryset = Letter.objects.none()  # for the schema; every read is scoped by queries
    lookup_field = "public_id"
    # Anything up to the next slash: a malformed id is a 404 in this API's shape.
    lookup_value_regex = "[^/]+"
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self) -> QuerySet[Letter]:
        return queries.letters_for(self.request.user)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A PDF is answered whatever the client accepts (errors in JSON).
        return super().perform_content_negotiation(request, force=force or self.action == "file")

    def _letter(self) -> Letter:
        try:
            return queries.letter_for(self.request.user, str(self.kwargs["public_id"]))
        except Letter.DoesNotExist:
            raise Http404 from None

    def _detail(self, letter: Letter, status: int = 200, **headers: str) -> Response:
        data = LetterDetailSerializer(letter, context=self.get_serializer_context()).data
        return Response(data, status=status, headers=headers or None)

    def list(self, request: Request) -> HttpResponse:
        try:
            letters = filtered(self.get_queryset(), request.query_params)
        except Refused as refused:
            return refused.response()
        page = self.paginate_queryset(letters)
        data = LetterSerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, public_id: str | None = None) -> Response:
        return self._detail(self._letter())

    def create(self, request: Request) -> HttpResponse:
        """Submit a letter (see the schema's description)."""
        user = request.user
        if not queries.may_send(user):  # before the body is read
            raise exceptions.PermissionDenied(
                _(
                    "You may not send letters: that needs the role of handler in a "
                    "municipality, and a token that may write."
                )
            )
        try:
            _check_length(request)
            metadata, uploads = _read_submission(request)
            _with_header_key(request, metadata)
            form = LetterSubmissionSerializer(data=metadata)
            if not form.is_valid():
                raise Refused(400, flat_errors(form.errors))
            clean: dict[str, Any] = dict(form.validated_data)
            organisation = _organisation(user, clean.get("organisation", ""))
            if "template" in clean:
                files = _composed(user, organisation, clean, uploads)
            elif "variables" in clean:
                raise Refused.one(400, "variables", _("Variables go with a template."))
            else:
                files = [(upload.name, upload.read()) for upload in uploads]
            done = services.submit(
                _submission(organisation, clean, files),
                actor=user,
                actor_label=_actor_label(request),
            )
        except Refused as refused:
            return refused.response()
        except services.SubmissionError as refused:
            return errors_response(400, refused.errors)
        except services.KeyConflict as conflict:
            return errors_response(409, {"idempotency_key": [str(conflict)]})
        if done.created:
            return self._detail(done.letter, 201, Location=letter_path(done.letter))
        return self._detail(done.letter, 200, **{"Idempotent-Replayed": "true"})

    @FILE_SCHEMA
    @action(detail=True, methods=["get"], url_path=r"files/(?P<position>[^/]+)", url_name="file")
    def file(
        self, request: Request, public_id: str | None = None, position: str | None = None
    ) -> HttpResponse:
        """A sealed PDF, as an attachment."""
        text = str(position)
        if not (text.isascii() and text.isdigit()) or not 0 < int(text[:6]) < 1000:
            raise Http404
        try:
            item, data = queries.file_bytes(request.user, str(public_id), int(text), sealed=True)
        except (Letter.DoesNotExist, LetterFile.DoesNotExist):
            raise Http404 from None
        if not item.signed:
            return errors_response(
                409, {"": [_("This file is not sealed yet; it can be downloaded once it is.")]}
            )
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(True, item.filename)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        response["ETag"] = f'"{item.signed_sha256}"'
        return response

    @RESEND_SCHEMA
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, public_id: str | None = None) -> HttpResponse:
        """Send a failed letter again, optionally to a corrected name and address."""
        letter = self._letter()
        if not queries.may_send(request.user, letter.organisation):
            raise exceptions.PermissionDenied(
                _("You may not send letters for %(organisation)s.")
                % {"organisation": letter.organisation}
            )
        not_failed = _("Only a failed letter can be sent again; this one is not failed.")
        if letter.failed_at is None:
            return errors_response(409, {"": [not_failed]})
        try:
            name, lines = _read_resend(request, letter)
        except Refused as refused:
            return refused.response()
        try:
            letter = services.resend(
                letter, actor=request.user, recipient_name=name, address_lines=lines
            )
        except services.ResendError as refused:
            if not Letter.objects.filter(pk=letter.pk, failed_at__isnull=False).exists():
                return errors_response(409, {"": [not_failed]})  # resent meanwhile
            return errors_response(400, {"address": [str(refused)]})
        return self._detail(letter, 202)


def _read_resend(request: Request, letter: Letter) -> tuple[str | None, list[str] | None]:
    """The corrected name and address lines (``None``: unchanged)."""
    data = _body(request)
    try:
        if _is_form(request, data):
            if request.FILES:
                raise BadMetadata(_label(next(iter(request.FILES))), _("Unknown field."))
            fields = request.POST if is_form_media_type(request.content_type or "") else QueryDict()
            metadata = form_metadata(fields, resend=True)
        elif isinstance(data, dict):
            metadata = dict(data)
        else:
            raise BadMetadata("", _("This is a JSON object ({…}), not an array or a value."))
    except BadMetadata as bad:
        raise Refused.one(400, bad.parameter, bad.message) from None
    form = LetterResendSerializer(data=metadata)
    if not form.is_valid():
        raise Refused(400, flat_errors(form.errors))
    name = form.validated_data.get("recipient", {}).get("name")
    lines = form.validated_data.get("address", {}).get("lines")
    if name is not None and lines is None:
        lines = list(letter.address_lines or [])  # a corrected name on the same address
    return name, lines
