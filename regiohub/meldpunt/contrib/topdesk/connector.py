"""The TOPdesk connector, speaking TOPdesk's REST API (``{url}/tas/api``) as an operator.

The field rules below are those of TOPdesk's incident API specification
(developers.topdesk.com/explorer/?page=incident; we read its schemas as copied in
GerbenRoebersen/Topdesk_MCP_python, ``topdesk_mcp/resources/object_schemas.yaml``):
an incident needs a caller, either ``callerLookup`` (a registered person, by id or
e-mail) or an unregistered caller (``caller.dynamicName``, with ``caller.branch``);
``briefDescription`` holds at most 80 characters, ``externalNumber`` 60,
``caller.dynamicName`` 109, ``caller.email`` 100, ``caller.phoneNumber`` 25; category,
subcategory, call type and processing status are given by id or by name and must exist;
``request`` and ``action`` are HTML. :mod:`.fake` refuses what these rules refuse.

Push (basic auth: operator login name + application password), safe to repeat:

1. the caller: ``GET /persons?query=email=="…"`` for a reporter who consented, when
   ``include_contact`` is on; else the configured default caller or an unregistered
   caller with the configured branch;
2. ``GET /incidents?query=externalNumber=="<reference>"``: a retry whose first answer was
   lost finds the incident it made instead of making a second one;
3. ``POST /incidents``; the answer's ``id`` is kept;
4. each photo not attached yet: ``POST /incidents/id/{id}/attachments`` (multipart ``file``).

Status: ``GET /incidents/id/{id}``, polled (:func:`.tasks.poll_topdesk`). regiohub's own
messages and status changes go the other way as actions (:mod:`.updates`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests
import structlog
from django import forms
from django.core.validators import validate_email
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_lazy

from regiohub.meldpunt.contrib.connectors.base import (
    BadCallback,
    Connector,
    ConnectorError,
    ConnectorSettings,
    Refused,
    StatusUpdate,
)
from regiohub.meldpunt.contrib.connectors.registry import register
from regiohub.meldpunt.models import Photo, Report
from regiohub.meldpunt.workflow import Status

log = structlog.get_logger(__name__)

API = "/tas/api"

#: Longest values TOPdesk takes (its specification's ``maxLength``), counted as TOPdesk
#: (Java) counts: in UTF-16 code units, so an emoji takes two.
BRIEF_DESCRIPTION = 80
EXTERNAL_NUMBER = 60
DYNAMIC_NAME = 109
EMAIL = 100
PHONE = 25

#: TOPdesk processing statuses (names are set per installation) -> ours.
DEFAULT_STATUS_MAP = {
    "Geregistreerd": Status.ACKNOWLEDGED,
    "In behandeling": Status.IN_PROGRESS,
    "Wachten op gebruiker": Status.ON_HOLD,
    "Afgemeld": Status.RESOLVED,
}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 units (with "…" when cut), never inside a character."""
    text = " ".join(text.split())
    if utf16_len(text) <= limit:
        return text
    while text and utf16_len(text) > limit - 1:
        text = text[:-1]
    return text.rstrip() + "…"


def as_html(text: str) -> str:
    """Plain text for TOPdesk's HTML fields: ``&``, ``<`` and ``>`` escaped, each line
    break a ``<br>``, so what the citizen typed shows as typed and never as markup."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def lookup(value: str) -> dict[str, str]:
    """A TOPdesk search list value by id (a UUID) or else by name."""
    return {"id": value} if is_uuid(value) else {"name": value}


def reason_of(response: requests.Response) -> str:
    """TOPdesk's own words for a refusal: its errors are a JSON list of ``{"message": …}``
    (newer endpoints: ``{"errors": [{"errorMessage": …}]}``). Anything else is not kept."""
    try:
        body = response.json()
    except ValueError:
        return f"(no readable reason: {len(response.content)} bytes that are not JSON)"
    if isinstance(body, dict):
        body = body.get("errors") or [body]
    items = body if isinstance(body, list) else []
    texts = [
        str(i.get("message") or i.get("errorMessage") or "") for i in items if isinstance(i, dict)
    ]
    return "; ".join(t for t in texts if t) or "(no reason given)"


def _uuid_or_email(value: str) -> str:
    value = (value or "").strip()
    if value and not is_uuid(value):
        try:
            validate_email(value)
        except forms.ValidationError:
            raise forms.ValidationError(
                gettext("Give the person's id in TOPdesk (a UUID) or their e-mail address."),
                code="invalid",
            ) from None
    return value


class TopdeskSettings(ConnectorSettings):
    url = forms.URLField(
        label=gettext_lazy("TOPdesk address"),
        assume_scheme="https",
        help_text=gettext_lazy("e.g. https://gemeente.topdesk.net"),
    )
    username = forms.CharField(label=gettext_lazy("Operator login name"), max_length=200)
    application_password = forms.CharField(
        label=gettext_lazy("Application password"),
        widget=forms.PasswordInput,
        help_text=gettext_lazy("Made by the operator in TOPdesk (not their own password)."),
    )
    default_caller = forms.CharField(
        label=gettext_lazy("Default caller"),
        required=False,
        max_length=EMAIL,
        help_text=gettext_lazy(
            "A person in TOPdesk (id or e-mail) who is the caller when the reporter is not "
            "known there. TOPdesk refuses an incident without a caller: give this or a branch."
        ),
    )
    branch = forms.CharField(
        label=gettext_lazy("Branch for unregistered callers"),
        required=False,
        help_text=gettext_lazy(
            "Id (a UUID) of the TOPdesk branch given to callers TOPdesk does not know; "
            "TOPdesk requires one for them."
        ),
    )
    caller_name = forms.CharField(
        label=gettext_lazy("Caller name"),
        required=False,
        max_length=DYNAMIC_NAME,
        help_text=gettext_lazy(
            'Unregistered caller without contact details; empty for "regiohub".'
        ),
    )
    call_type = forms.CharField(label=gettext_lazy("Call type"), required=False)
    category = forms.CharField(label=gettext_lazy("Category"), required=False)
    subcategory = forms.CharField(label=gettext_lazy("Subcategory"), required=False)
    category_map = forms.JSONField(
        label=gettext_lazy("Categories per subject"),
        required=False,
        help_text=gettext_lazy(
            'Our category code -> TOPdesk\'s, by name or id, e.g. {"pothole": {"category": '
            '"Openbaar domein", "subcategory": "Wegen"}}. Codes not listed get the category '
            "and subcategory above."
        ),
    )
    push_updates = forms.BooleanField(
        label=gettext_lazy("Add regiohub's messages and status changes to the incident"),
        required=False,
        help_text=gettext_lazy(
            "regiohub stays the front office: what it tells the reporter and the status "
            "changes made in regiohub become actions in TOPdesk. On unless set to false."
        ),
    )

    def clean_default_caller(self) -> str:
        return _uuid_or_email(self.cleaned_data.get("default_caller", ""))

    def clean_branch(self) -> str:
        value = (self.cleaned_data.get("branch") or "").strip()
        if value and not is_uuid(value):
            raise forms.ValidationError(
                gettext("Give the branch's id in TOPdesk (a UUID); TOPdesk takes no name here."),
                code="invalid",
            )
        return value

    def clean_category_map(self) -> dict[str, dict[str, str]]:
        value = self.cleaned_data.get("category_map") or {}
        problem = gettext(
            'Expected an object of category codes, each {"category": "…", "subcategory": "…"} '
            "or a category name."
        )
        if not isinstance(value, dict):
            raise forms.ValidationError(problem, code="invalid")
        cleaned: dict[str, dict[str, str]] = {}
        for code, target in value.items():
            if isinstance(target, str):
                target = {"category": target}
            if not isinstance(target, dict) or set(target) - {"category", "subcategory"}:
                raise forms.ValidationError(problem, code="invalid")
            names = {k: v.strip() for k, v in target.items() if isinstance(v, str) and v.strip()}
            if len(names) != len(target):
                raise forms.ValidationError(problem, code="invalid")
            cleaned[code] = names
        return cleaned


@dataclass(frozen=True)
class Update:
    """An action for an incident. ``marker`` is unique per update and written into the
    action: a retry whose first answer was lost sees it there and adds nothing."""

    marker: str
    html: str
    processing_status: str = ""


@register
class TopdeskConnector(Connector):
    """Settings: ``url`` (https://gemeente.topdesk.net), ``username`` (operator login),
    ``application_password``, ``default_caller`` and/or ``branch``, optional
    ``caller_name``, ``call_type``, ``category``, ``subcategory``, ``category_map``,
    ``push_updates``, ``include_contact``, ``status_map``, ``timeout``."""

    name = "topdesk"
    label = gettext_lazy("TOPdesk")
    settings_form = TopdeskSettings  # the secret: ``application_password``

    @classmethod
    def subscribe(cls) -> None:
        from regiohub.meldpunt.contrib.topdesk import updates

        updates.subscribe()

    # --- talking to TOPdesk ----------------------------------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request to the API; its JSON (``None`` for 204). A 4xx other than 401, 403,
        408 and 429 is TOPdesk refusing: :class:`Refused` with its reason. Everything else
        that fails is a :class:`ConnectorError` in our words, tried again later."""
        url = self.settings["url"].rstrip("/") + API + path
        auth = (self.settings.get("username", ""), self.settings.get("application_password", ""))
        try:
            response = requests.request(
                method,
                url,
                auth=auth,
                timeout=self.timeout,
                headers={"Accept": "application/json"},
                **kwargs,
            )
        except requests.Timeout:
            raise ConnectorError(f"timeout after {self.timeout:g}s") from None
        except requests.RequestException as exc:
            raise ConnectorError(f"connection failed ({type(exc).__name__})") from None
        status = response.status_code
        if status in (401, 403):
            raise ConnectorError(f"HTTP {status}: check the credentials")
        if status in (408, 429) or status >= 500:
            raise ConnectorError(f"HTTP {status}")
        if status >= 400:
            raise Refused(reason_of(response), status=status)
        if status == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(f"HTTP {status}: the answer is not JSON") from None

    def listing(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """A list endpoint's items (TOPdesk answers 204 for an empty list)."""
        found = self.call("GET", path, params=params or None)
        return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []

    # --- what an incident says -------------------------------------------------------

    def may_share_contact(self, report: Report) -> bool:
        """The reporter's details leave regiohub only with their consent and
        ``include_contact`` (ADR 0014); looking them up in TOPdesk is leaving too."""
        return bool(
            self.settings.get("include_contact") and report.consent_at and not report.anonymised_at
        )

    def person_by_email(self, email: str) -> str | None:
        """The id of the one TOPdesk person with this e-mail address, else ``None``."""
        if not email or any(c in email for c in '"\\'):
            return None  # not expressible in a FIQL string; the default caller will do
        persons = self.listing("/persons", query=f'email=="{email}"')
        ids = {str(p["id"]) for p in persons if p.get("id")}
        return ids.pop() if len(ids) == 1 else None

    def caller(self, report: Report) -> dict[str, Any]:
        """The caller fields: the reporter when TOPdesk knows them, else the reporter as an
        unregistered caller of the configured branch, else the default caller."""
        share = self.may_share_contact(report)
        if share and report.reporter_email:
            person = self.person_by_email(report.reporter_email)
            if person:
                return {"callerLookup": {"id": person}}
        branch = (self.settings.get("branch") or "").strip()
        if share and branch:
            caller: dict[str, Any] = {
                "dynamicName": fit(report.reporter_name or report.reporter_email, DYNAMIC_NAME),
                "branch": {"id": branch},
            }
            if report.reporter_email and utf16_len(report.reporter_email) <= EMAIL:
                caller["email"] = report.reporter_email
            phone = "".join(report.reporter_phone.split())
            if phone and utf16_len(phone) <= PHONE:
                caller["phoneNumber"] = phone
            return {"caller": caller}
        default = (self.settings.get("default_caller") or "").strip()
        if default:
            return {"callerLookup": {"id" if is_uuid(default) else "email": default}}
        if branch:
            name = self.settings.get("caller_name") or "regiohub"
            return {"caller": {"dynamicName": fit(name, DYNAMIC_NAME), "branch": {"id": branch}}}
        raise Refused(
            "no caller: TOPdesk needs a known person or a branch for the caller; set "
            "default_caller or branch in the connector's settings"
        )

    def classification(self, category_code: str) -> tuple[str, str]:
        """TOPdesk's (category, subcategory) for one of our category codes."""
        mapped = (self.settings.get("category_map") or {}).get(category_code)
        if isinstance(mapped, str):
            mapped = {"category": mapped}
        if isinstance(mapped, dict):
            return str(mapped.get("category") or ""), str(mapped.get("subcategory") or "")
        return str(self.settings.get("category") or ""), str(self.settings.get("subcategory") or "")

    def incident(self, report: Report, caller: dict[str, Any]) -> dict[str, Any]:
        first_line = (
            report.description.strip().splitlines()[0] if report.description.strip() else ""
        )
        where = report.address or f"{report.latitude:.6f}, {report.longitude:.6f}"
        body: dict[str, Any] = {
            **caller,
            "briefDescription": fit(
                f"{report.reference} {report.category.display_name}: {first_line}",
                BRIEF_DESCRIPTION,
            ),
            "request": f"{as_html(report.description)}<br><br>{as_html(where)}",
            "externalNumber": report.reference[:EXTERNAL_NUMBER],
        }
        if self.settings.get("call_type"):
            body["callType"] = lookup(self.settings["call_type"])
        category, subcategory = self.classification(report.category.code)
        if category:
            body["category"] = lookup(category)
        if subcategory:
            body["subcategory"] = lookup(subcategory)
        return body

    # --- push, poll, update ----------------------------------------------------------

    def push(self, report: Report, *, event_id: str) -> str:
        reference = report.reference
        found = self.listing("/incidents", query=f'externalNumber=="{reference}"')
        incident_id = str(found[0].get("id") or "") if found else ""
        if not incident_id:
            answer = self.call(
                "POST", "/incidents", json=self.incident(report, self.caller(report))
            )
            if not isinstance(answer, dict) or not answer.get("id"):
                raise ConnectorError("TOPdesk answered without an incident id")
            incident_id = str(answer["id"])
            log.info("topdesk incident created", number=answer.get("number"))
        self.attach_photos(report, incident_id)
        return incident_id

    def attach_photos(
        self, report: Report, incident_id: str, photos: Sequence[Photo] | None = None
    ) -> int:
        """Attach ``photos`` (by default all of the report's) the incident does not have
        yet, known by their file name; returns how many were attached."""
        photos = list(report.photos.all()) if photos is None else list(photos)
        if not photos:
            return 0
        path = f"/incidents/id/{incident_id}/attachments"
        there = {a.get("fileName") for a in self.listing(path)}
        added = 0
        for photo in photos:
            extension = "jpg" if photo.content_type == "image/jpeg" else photo.content_type[6:]
            name = f"{report.reference}-photo-{photo.pk}.{extension}"
            if name in there:
                continue
            with photo.file.open("rb") as stream:
                content = stream.read()
            self.call("POST", path, files={"file": (name, content, photo.content_type)})
            added += 1
        return added

    def parse_callback(self, request: HttpRequest) -> StatusUpdate:
        raise BadCallback("TOPdesk is polled; it has no callback")

    def status_map(self) -> dict[str, str]:
        """TOPdesk's processing status names -> ours; the settings' own entries first."""
        own = self.settings.get("status_map") or {}
        return {**own, **{k: v for k, v in DEFAULT_STATUS_MAP.items() if k not in own}}

    def processing_status_for(self, status: str) -> str:
        """The TOPdesk processing status that means our ``status``, or "" when none does."""
        return next((theirs for theirs, ours in self.status_map().items() if ours == status), "")

    def fetch_status(self, external_id: str) -> StatusUpdate | None:
        data = self.call("GET", f"/incidents/id/{external_id}")
        data = data if isinstance(data, dict) else {}
        name = (data.get("processingStatus") or {}).get("name", "")
        status = Status.RESOLVED if data.get("closed") else self.status_map().get(name)
        if status is None:
            return None
        version = data.get("modificationDate") or f"{name}:{data.get('closed')}"
        return StatusUpdate(
            external_id=external_id,
            status=str(status),
            note="",
            event_id=f"topdesk:{external_id}:{version}",
        )

    def add_update(self, incident_id: str, update: Update) -> bool:
        """Add ``update`` as an action (invisible for the caller: regiohub told the reporter
        already, TOPdesk must not mail them a second time) unless the incident has it.
        Returns whether it was added."""
        actions = self.listing(f"/incidents/id/{incident_id}/actions", page_size=100)
        if any(update.marker in f"{a.get('memoText')}{a.get('plainText')}" for a in actions):
            return False
        body: dict[str, Any] = {
            "action": f"{update.html}<br><i>{as_html(update.marker)}</i>",
            "actionInvisibleForCaller": True,
        }
        if update.processing_status:
            body["processingStatus"] = lookup(update.processing_status)
        self.call("PATCH", f"/incidents/id/{incident_id}", json=body)
        return True
