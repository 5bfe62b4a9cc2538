"""Staff pages of document delivery: the letters, the failed ones, one letter with its
trail and proof, its sealed files, and a letter submitted by hand.

Every read goes through ``queries`` (scoped to the organisations where the person sees
letters): a letter of another municipality answers 404, never 403, so its existence does
not show. Submitting and resending need ``SEND_LETTERS`` for the letter's municipality
(403 otherwise). A citizen's national register number is shown masked
(``Letter.recipient_shown``), never whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import get_language, gettext_lazy, ngettext, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from regiohub.core import access
from regiohub.core.auth.decorators import staff_required
from regiohub.core.models import Organisation
from regiohub.documents import queries, services
from regiohub.documents.events import Action
from regiohub.documents.forms import LetterFilterForm, LetterForm, ResendForm
from regiohub.documents.models import (
    ChannelName,
    Letter,
    LetterEvent,
    LetterFile,
    LetterTemplate,
    Status,
)
from regiohub.documents.permissions import SEND_LETTERS, VIEW_LETTERS

#: Letters per page of the lists.
PAGE_SIZE = 50


def _letter(request: HttpRequest, public_id: Any) -> Letter:
    try:
        return queries.letter_for(request.user, public_id)
    except Letter.DoesNotExist:
        raise Http404 from None


def _may_view(request: HttpRequest) -> None:
    """Someone who sees letters nowhere gets the "no access" page, not an empty list."""
    if not access.organisation_ids(request.user, VIEW_LETTERS):
        raise PermissionDenied


def _subject(letter: Letter) -> str:
    return letter.subject((get_language() or "nl")[:2])


# --- The letters --------------------------------------------------------------------------


def _filter_organisations(user: Any) -> list[Organisation]:
    """The organisations in reach that send letters: the municipality filter's choices."""
    ids = access.organisation_ids(user, VIEW_LETTERS)
    return list(
        Organisation.objects.filter(pk__in=ids, letter_sender__isnull=False).order_by("name")
    )


@staff_required
@require_GET
def letter_list(request: HttpRequest) -> HttpResponse:
    """Every letter the person may see, newest first, with counts per status on top."""
    _may_view(request)
    form = LetterFilterForm(_filter_organisations(request.user), request.GET or None)
    page = Paginator(form.apply(queries.letters_for(request.user)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    overview = queries.overview(request.user)
    context = {
        "form": form,
        "page": page,
        "rows": [(letter, _subject(letter)) for letter in page],
        "params": form.params(),
        "overview": overview,
        "counts": [
            (value, label, overview.by_status[value])
            for value, label in Status.choices
            if overview.by_status.get(value)
        ],
        "total": sum(overview.by_status.values()),
        "may_send": queries.may_send(request.user),
        "municipality_filter": len(form.organisations) > 1,
    }
    return render(request, "documents/list.html", context)


@staff_required
@require_GET
def failed_list(request: HttpRequest) -> HttpResponse:
    """The dead-letter list: what could not be sent after the last try, to send again."""
    _may_view(request)
    page = Paginator(queries.dead_letters(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    sending = access.organisation_ids(request.user, SEND_LETTERS)
    rows = [(letter, _subject(letter), letter.organisation_id in sending) for letter in page]
    return render(request, "documents/failed.html", {"page": page, "rows": rows})


# --- One letter ---------------------------------------------------------------------------


#: Why a letter went to the eBox or on paper (``Reach.code`` of the channel).
ROUTE_REASONS = {
    "consent": gettext_lazy("the citizen accepted the eBox"),
    "no_consent": gettext_lazy("the citizen has not accepted the eBox"),
    "ebox": gettext_lazy("the enterprise uses its eBox"),
    "no_ebox": gettext_lazy("the enterprise has no eBox"),
    "never_connected": gettext_lazy("the enterprise never opened its eBox"),
    "no_ebox_channel": gettext_lazy("the municipality sends no letters to the eBox"),
}


@dataclass(frozen=True)
class Step:
    """One step of a letter's trail in plain words."""

    event: LetterEvent
    title: str
    detail: str = ""
    problem: bool = False


def describe(event: LetterEvent) -> Step:
    """A trail step as the person following the letter reads it."""
    detail = event.detail or {}
    action = event.action
    if action == Action.LETTER_RECEIVED:
        count = len(detail.get("files") or [])
        files = ngettext("%(count)d PDF file", "%(count)d PDF files", count) % {"count": count}
        return Step(event, _("Received"), files)
    if action == Action.LETTER_SIGNED:
        level = str(detail.get("level") or "B-T")
        return Step(event, _("Sealed (PAdES %(level)s)") % {"level": level})
    if action == Action.LETTER_ROUTED:
        reason = ROUTE_REASONS.get(str(detail.get("reason", "")), "")
        if detail.get("channel") == ChannelName.EBOX:
            return Step(event, _("Goes to the eBox"), str(reason))
        return Step(event, _("Goes on paper"), str(reason))
    if action == Action.LETTER_PUBLISHED:
        lines = []
        if detail.get("same_as_sealed"):
            lines.append(_("The eBox confirmed the same SHA-256 as the sealed files."))
        if detail.get("duplicate"):
            lines.append(_("The eBox already had it: it was not sent twice."))
        return Step(event, _("Sent to the eBox"), " ".join(lines))
    if action == Action.LETTER_PAPER_COPY:
        if detail.get("reason") == "unread":
            why = _("not read in the eBox after %(days)s days") % {"days": detail.get("days")}
        else:
            why = _("the recipient never opened their eBox")
        return Step(event, _("Also on paper"), why)
    if action == Action.LETTER_BATCHED:
        batch = str(detail.get("batch", ""))
        title = (
            _("Paper copy put in batch %(batch)s")
            if detail.get("paper_copy")
            else _("Put on paper in batch %(batch)s")
        )
        same = detail.get("same_as_sealed")
        return Step(
            event,
            title % {"batch": batch},
            _("The print partner got the same SHA-256 as the sealed files.") if same else "",
        )
    if action == Action.LETTER_READ:
        return Step(event, _("Read in the eBox"))
    if action == Action.LETTER_DELIVERED:
        return Step(event, _("Delivered by the post"))
    if action == Action.LETTER_RETURNED:
        return Step(event, _("Returned by the post"), str(detail.get("reason", "")), True)
    if action == Action.LETTER_RETRY:
        return Step(
            event,
            _("Try %(attempt)s did not succeed: it is tried again")
            % {"attempt": detail.get("attempt", "?")},
            str(detail.get("error", "")),
            True,
        )
    if action == Action.LETTER_FAILED:
        return Step(
            event,
            _("Failed: on the list of failed letters"),
            str(detail.get("error", "")),
            True,
        )
    if action == Action.LETTER_RESENT:
        return Step(event, _("Sent again"))
    if action == Action.LETTER_ADDRESS_CHANGED:
        return Step(event, _("Name and address corrected"))
    return Step(event, action)


@dataclass(frozen=True)
class Proof:
    """A file's fingerprints at each step, and whether what left is what was sealed."""

    item: LetterFile
    same: bool | None  # None: not delivered yet


def _proof(item: LetterFile) -> Proof:
    if not item.delivered_sha256 or not item.signed_sha256:
        return Proof(item, None)
    return Proof(item, item.delivered_sha256 == item.signed_sha256)


def _detail_context(
    request: HttpRequest, letter: Letter, resend_form: ResendForm | None = None
) -> dict[str, Any]:
    steps = [describe(event) for event in queries.trail_of(letter)]
    signed = next((s for s in steps if s.event.action == Action.LETTER_SIGNED), None)
    failed = letter.failed_at is not None
    may_send = queries.may_send(request.user, letter.organisation)
    subject = _subject(letter)
    return {
        "letter": letter,
        "subject": subject,
        "other_subjects": [
            (lang, text)
            for lang, text in sorted((letter.subjects or {}).items())
            if text and text != subject
        ],
        "route_reason": ROUTE_REASONS.get(letter.route_reason, ""),
        "steps": steps,
        "seal_level": (signed.event.detail or {}).get("level", "") if signed else "",
        "verdict": queries.verify_trail(letter),
        "proofs": [_proof(item) for item in letter.files.order_by("position")],
        "failed": failed,
        "may_resend": failed and may_send,
        "resend_form": resend_form or ResendForm(),
    }


@staff_required
@require_GET
def letter_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    letter = _letter(request, public_id)
    return render(request, "documents/letter.html", _detail_context(request, letter))


@staff_required
@require_GET
def letter_file(request: HttpRequest, public_id: Any, position: int) -> HttpResponse:
    """A sealed PDF of the letter, as it was delivered (a download, never shown inline)."""
    letter = _letter(request, public_id)
    if not letter.files.filter(position=position).exclude(signed="").exists():
        raise Http404  # not sealed yet: there is nothing sent to show
    try:
        item, data = queries.file_bytes(request.user, str(letter.public_id), position)
    except (Letter.DoesNotExist, LetterFile.DoesNotExist, FileNotFoundError):
        raise Http404 from None
    stem = item.filename[:-4] if item.filename.lower().endswith(".pdf") else item.filename
    filename = f"{stem}-{pgettext('file name', 'sealed')}.pdf"
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@staff_required
@require_POST
def resend_letter(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Send a failed letter again, from where it stopped, optionally to a corrected name
    and address. From the failed list (``next=failed``) the person goes back there."""
    letter = _letter(request, public_id)
    if not queries.may_send(request.user, letter.organisation):
        raise PermissionDenied
    if letter.failed_at is None:  # sent again meanwhile (a second click, a colleague)
        messages.info(
            request,
            _("Letter %(reference)s is not failed: there is nothing to send again.")
            % {"reference": letter.reference},
        )
        return redirect("documents:letter", letter.public_id)
    form = ResendForm(request.POST)
    if form.is_valid():
        lines = form.cleaned_data["address"]
        try:
            services.resend(
                letter,
                actor=request.user,
                recipient_name=form.cleaned_data["recipient_name"] or None,
                address_lines=lines or None,
            )
        except services.ResendError as error:
            form.add_error("address" if lines else None, str(error))
        else:
            messages.success(
                request,
                _("Letter %(reference)s is being sent again.") % {"reference": letter.reference},
            )
            if request.POST.get("next") == "failed":
                return redirect("documents:failed")
            return redirect("documents:letter", letter.public_id)
    letter.refresh_from_db()
    context = _detail_context(request, letter, resend_form=form)
    return render(request, "documents/letter.html", context, status=400)


# --- A letter submitted by hand -----------------------------------------------------------


def _templates(organisations: Any) -> list[LetterTemplate]:
    return list(
        LetterTemplate.objects.filter(organisation__in=organisations, is_active=True)
        .select_related("organisation")
        .order_by("organisation__name", "name")
    )


@staff_required
@require_http_methods(["GET", "POST"])
def new_letter(request: HttpRequest) -> HttpResponse:
    """Submit a letter by hand: PDFs uploaded, or written from a template. Who may send
    is checked before the (large) body is read."""
    if not queries.may_send(request.user):
        raise PermissionDenied
    organisations = queries.sending_organisations(request.user)
    templates = _templates(organisations)
    if request.method == "POST":
        form = LetterForm(organisations, templates, request.POST, request.FILES)
        if form.is_valid():
            done = _submit(request, form)
            if done is not None:
                return done
    else:
        form = LetterForm(organisations, templates)
    context = {
        "form": form,
        "no_sender": not organisations.exists(),
        "files_again": form.is_bound and bool(request.FILES) and bool(form.errors),
        "compose_open": form.composing(),
    }
    response = render(request, "documents/new.html", context, status=400 if form.errors else 200)
    # The form may hold a national register number the person typed: keep it out of caches.
    response["Cache-Control"] = "private, no-store"
    return response


def _submit(request: HttpRequest, form: LetterForm) -> HttpResponse | None:
    """Write (when from a template) and submit the letter; its page, or ``None`` with the
    errors on the form."""
    data = form.cleaned_data
    organisation = data["municipality"]
    key = data["idempotency_key"]
    earlier = (
        queries.letters_for(request.user)
        .filter(organisation=organisation, idempotency_key=key)
        .first()
    )
    if earlier is not None:  # the form sent again (back button, reload): no second letter
        return _already_sent(request, earlier)
    files = data["pdfs"]
    template = form.chosen_template()
    try:
        if template is not None:
            files = services.compose_files(
                template,
                variables=form.variables(),
                recipient_name=data["recipient_name"],
                address_lines=data["address"],
                subject=form.subject_for_letter(),
                reference=data["reference"],
                language=data["language"],
            )
        done = services.submit(
            services.Submission(
                organisation=organisation,
                reference=data["reference"],
                idempotency_key=key,
                recipient_kind=data["recipient_kind"],
                recipient_number=data["recipient_number"],
                subjects=form.subjects(),
                files=files,
                recipient_name=data["recipient_name"],
                address_lines=data["address"],
                language=data["language"],
                department=data["department"],
            ),
            actor=request.user,
        )
    except services.SubmissionError as error:
        form.add_service_errors(error.errors)
        return None
    except services.KeyConflict as conflict:
        # The same form sent twice at once (a double click): a composed letter carries
        # the second it was written, so the two differ a little. The first is the letter.
        return _already_sent(request, conflict.letter)
    if not done.created:
        return _already_sent(request, done.letter)
    messages.success(
        request,
        _("Letter %(reference)s received: it is being sealed and sent.")
        % {"reference": done.letter.reference},
    )
    return _to_letter(done.letter)


def _already_sent(request: HttpRequest, letter: Letter) -> HttpResponse:
    messages.info(
        request,
        _(
            "This form was already sent: it is letter %(reference)s, below. Nothing was sent "
            "twice. For another letter, start a new one."
        )
        % {"reference": letter.reference},
    )
    return _to_letter(letter)


def _to_letter(letter: Letter) -> HttpResponse:
    """The letter's page, at the top: the form posted to ``#form-errors``, a fragment the
    browser would otherwise keep across the redirect."""
    return redirect(reverse("documents:letter", args=[letter.public_id]) + "#main")
