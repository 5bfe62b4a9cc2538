"""No page repeats an element id, and every ``<label for>`` names an element of its page.

A repeated id makes a label announce (and a click focus) another form's field: on the
report page the reporter's message box was once named "internal note". This walks the
URL resolver, so a new page is checked without being listed here: every address of the
site's own pages is opened - anonymously and as a superuser - with reports in each state
(one with a conversation, photos and a long history), incoming mail, datasets with a load
under review, and the pages' error states (forms sent empty or wrong) and error pages.
Addresses with parameters are built from that data (``BUILDERS``); those that are not
the site's pages are named in ``NOT_PAGES`` with the reason.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from PIL import Image

from regiohub.core import api_tokens, errors
from regiohub.core.models import Department
from regiohub.core.roles import Role
from regiohub.core.testing import run_tasks, staff_client
from regiohub.core.tests.factories import MembershipFactory, UserFactory
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload
from regiohub.meldpunt import services
from regiohub.meldpunt.contrib.mail.intake import receive
from regiohub.meldpunt.links import handoff_token
from regiohub.meldpunt.models import AssetLayer, ExternalBody, MessageTemplate, Report, SavedFilter
from regiohub.meldpunt.photos import process_photo
from regiohub.meldpunt.services import citizen
from regiohub.meldpunt.tests.factories import MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

#: Addresses under these beginnings are not the site's pages (and say so).
NOT_PAGES = {
    "admin/": "Django's admin, with Django's own templates",
    "api/": "the REST API answers JSON",
    "open311/": "the Open311 API answers JSON or XML",
    "oidc/": "sends the browser to the identity provider",
    "meldpunt/connectors/": "connector callbacks answer JSON to a machine",
    "meldpunt/mail/inbound/": "the inbound-mail webhook answers JSON to a mail service",
    "catalog": "the DCAT-AP feed answers RDF (Turtle, RDF/XML, JSON-LD) to harvesters",
    "id/": "identifiers (Linked Data) answer 303 to a page or to RDF",
}

#: Addresses with parameters that cannot be built here. Empty: keep it that way.
CANNOT_BUILD: dict[str, str] = {}


# --- Checking one page ------------------------------------------------------------------


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: Counter[str] = Counter()
        self.label_targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids[found["id"] or ""] += 1
        if tag == "label" and found.get("for"):
            self.label_targets.append(found["for"] or "")

    handle_startendtag = handle_starttag


def problems(html: str) -> list[str]:
    page = Page()
    page.feed(html)
    page.close()
    found = [f"id {key!r} appears {n} times" for key, n in page.ids.items() if n > 1]
    found += [
        f"<label for={t!r}> names no element" for t in page.label_targets if t not in page.ids
    ]
    return found


def is_page(response: Any) -> bool:
    return response["Content-Type"].startswith("text/html") and bool(response.content)


# --- The site's addresses ---------------------------------------------------------------


def routes(patterns: list[Any] | None = None, prefix: str = "", namespace: str = "") -> Iterator:
    """(route, name) of every address, with its namespace ("meldpunt:inbox")."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from routes(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            yield prefix + str(entry.pattern), name


def has_parameters(route: str) -> bool:
    return "<" in route or "(?P" in route


# --- The world the pages show -----------------------------------------------------------


def jpeg() -> Any:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "JPEG")
    buffer.seek(0)
    return process_photo(buffer)


@pytest.fixture
def world(categories, settings, tmp_path) -> dict[str, Any]:
    settings.DATASETS_URI = str(tmp_path / "tables")
    settings.DATA_DIR = tmp_path
    region = categories
    agent = MembershipFactory(organisation=region["ZWVL"], agent=True).user
    superuser = UserFactory(superuser=True)
    steward = MembershipFactory(organisation=region["KOR"], role=Role.DATA_STEWARD).user

    reports: dict[str, Report] = {}
    reports["new"] = file_report(description="Gat in de weg.", reporter_name="An Peeters",
                                 reporter_phone="056 27 00 00")  # fmt: skip
    talk = file_report(code="street-light", reporter_name="Bert", description="Lamp kapot.")
    services.attach_photos(talk, [jpeg()], by_reporter=True)
    services.add_note(talk, "Ploeg gepland.", actor=agent)
    services.send_message(talk, "Aan welke kant van de kerk?", actor=agent, question=True)
    citizen.answer(Report.objects.get(pk=talk.pk), "Aan de kant van de school.")
    for n in range(10):  # a history longer than the page shows at once
        services.add_note(talk, f"Notitie {n}.", actor=agent)
    reports["conversation"] = Report.objects.get(pk=talk.pk)
    reports["waiting"] = file_report(description="Waar?")
    services.send_message(reports["waiting"], "Waar precies?", actor=agent, question=True)
    for status, reason in [
        (Status.ACKNOWLEDGED, ""), (Status.IN_PROGRESS, ""), (Status.ON_HOLD, "Wacht op aannemer"),
        (Status.RESOLVED, ""), (Status.CANCELLED, "Proefmelding"),
    ]:  # fmt: skip
        reports[status] = services.change_status(file_report(), status, actor=agent, reason=reason)
    closed = services.change_status(file_report(), Status.RESOLVED, actor=agent)
    reports["closed"] = services.change_status(closed, Status.CLOSED, actor=agent)
    asked = services.change_status(file_report(), Status.RESOLVED, actor=agent)
    unhappy = citizen.satisfaction_options(asked)[-1]
    citizen.answer_satisfaction(asked, unhappy.pk, "Nog steeds een gat.", reopen=True)
    reports["reopen_requested"] = Report.objects.get(pk=asked.pk)
    reopened = services.change_status(file_report(), Status.RESOLVED, actor=agent)
    reports["reopened"] = services.change_status(
        reopened, Status.REOPENED, actor=agent, reason="Nog steeds kapot"
    )
    body = ExternalBody.objects.create(code="awv", name="AWV", email="awv@example.org")
    forwarded = file_report()
    services.forward_to_external_body(forwarded, body, reason="Gewestweg", actor=agent)
    reports["forwarded"] = Report.objects.get(pk=forwarded.pk)
    reports["merged"] = services.merge(file_report(), reports["new"], actor=agent)
    reports["split"] = services.split(
        reports["conversation"], category_code="pothole", description="Ook een gat.", actor=agent
    )
    reports["menen"] = file_report(where=MENEN_CENTRE)
    reports["anonymous"] = file_report(reporter_email="", consent=False)
    MessageTemplate.objects.create(language="nl", title="Ontvangen", body="Dag {name}.")
    MessageTemplate.objects.create(language="nl", title="Bezig", body="Bezig.",
                                   status=Status.IN_PROGRESS)  # fmt: skip
    saved = SavedFilter.objects.create(user=superuser, name="Lampen", query="category=street-light")
    SavedFilter.objects.create(user=agent, name="Mijn", query="assignee=me")

    message = EmailMessage()
    message["From"] = "Carla <carla@example.org>"
    message["Subject"] = "Boom omgevallen"
    message["Message-ID"] = "<ids-1@example.org>"
    message.set_content("Er ligt een boom over het fietspad.")
    mail = receive(message.as_bytes())

    dataset = make_dataset(region["KOR"], steward, access="open")
    done = upload(dataset, steward, COUNTS_CSV)
    review = upload(dataset, steward, COUNTS_CSV, confirm=False)
    from regiohub.dashboards import services as dashboards

    dashboards.load_folder(dashboards.shipped_folder())
    run_tasks()
    from django.utils import timezone

    from regiohub.documents.models import Letter, LetterFile

    letter = Letter.objects.create(  # failed: its page shows the resend form too
        organisation=region["KOR"], reference="OMV-2026-0042", idempotency_key="ids-1",
        content_digest="0" * 64, recipient_kind="citizen", recipient_number="93051822361",
        recipient_name="An Peeters", address_lines=["Grote Markt 54", "8500 Kortrijk"],
        subjects={"nl": "Beslissing"}, status="failed", failed_at=timezone.now(),
        last_error="Timeout",
    )  # fmt: skip
    LetterFile.objects.create(letter=letter, position=1, filename="besluit.pdf",
                              original="letters/none.pdf", original_sha256="0" * 64,
                              original_size=1)  # fmt: skip
    return {
        "letter": letter,
        "agent": agent,
        "superuser": superuser,
        "reports": reports,
        "photo": reports["conversation"].photos.first(),
        "mail": mail,
        "saved": saved,
        "dataset": dataset,
        "loads": [done, review],
        "department": Department.objects.filter(organisation=region["KOR"]).first(),
        "token": api_tokens.create_token(superuser, name="Power BI").token,
        "layer": AssetLayer.objects.create(code="roads", name="Wegen", kind="line"),
    }


def builders(world: dict[str, Any]) -> dict[str, Callable[[], list[str]]]:
    """Addresses for each name with parameters, from the world."""
    reports = world["reports"].values()
    report = world["reports"]["conversation"]
    photo = world["photo"]
    tokens = [services.followup_token(r) for r in reports if services.followup_token(r)]
    token = services.followup_token(report)
    slug = world["dataset"].slug
    superuser = world["superuser"]
    uid = urlsafe_base64_encode(force_bytes(superuser.pk))
    actions = ["status", "assign", "note", "message", "forward", "merge", "split", "place",
               "reroute", "owner", "subject"]  # fmt: skip
    return {
        "meldpunt:followup": lambda: [f"/melding/{t}/" for t in tokens],
        "meldpunt:followup-answer": lambda: [f"/melding/{token}/antwoord/"],
        "meldpunt:followup-photos": lambda: [f"/melding/{token}/fotos/"],
        "meldpunt:followup-photo": lambda: [f"/melding/{token}/fotos/{photo.pk}/"],
        "meldpunt:followup-rate": lambda: [f"/melding/{token}/beoordeling/"],
        "meldpunt:followup-reopen": lambda: [f"/melding/{token}/heropenen/"],
        "meldpunt:mail-discard": lambda: [f"/staff/reports/mail/{world['mail'].pk}/discard/"],
        "meldpunt:mail-original": lambda: [f"/staff/reports/mail/{world['mail'].pk}/original/"],
        "meldpunt:delete-filter": lambda: [f"/staff/reports/filters/{world['saved'].pk}/delete/"],
        "meldpunt:staff-report": lambda: [f"/staff/reports/{r.reference}/" for r in reports],
        **{
            f"meldpunt:staff-{action}": (
                lambda action=action: [f"/staff/reports/{report.reference}/{action}/"]
            )
            for action in actions
        },
        "meldpunt:staff-photo": lambda: [f"/staff/reports/{report.reference}/photos/{photo.pk}/"],
        "meldpunt:staff-reopen-decline": lambda: [
            f"/staff/reports/{world['reports']['reopen_requested'].reference}"
            "/reopen-request/decline/"
        ],
        "meldpunt:handoff": lambda: [
            f"/overdracht/{handoff_token(world['reports']['forwarded'].handovers.get())}/"
        ],
        "meldpunt:staff-routing-moves": lambda: [
            f"/staff/reports/routing/layers/{world['layer'].pk}/"
        ],
        "datasets:detail": lambda: [f"/data/{slug}/"],
        "datasets:download": lambda: [f"/data/{slug}/download/?format=csv"],
        "datasets:download-metadata": lambda: [f"/data/{slug}/download/metadata.json?version=1"],
        "datasets:compare": lambda: [f"/data/{slug}/compare/"],
        "datasets:compare-download": lambda: [f"/data/{slug}/compare/download/"],
        "datasets:restore": lambda: [f"/staff/data/{slug}/versions/1/restore/"],
        "datasets:edit": lambda: [f"/staff/data/{slug}/edit/"],
        "datasets:upload": lambda: [f"/staff/data/{slug}/upload/"],
        "datasets:feed": lambda: [f"/staff/data/{slug}/feed/"],
        "datasets:feed-run": lambda: [f"/staff/data/{slug}/feed/run/"],
        "datasets:load": lambda: [
            f"/staff/data/{slug}/loads/{load.pk}/" for load in world["loads"]
        ],
        "datasets:confirm": lambda: [f"/staff/data/{slug}/loads/{world['loads'][1].pk}/confirm/"],
        "datasets:cancel": lambda: [f"/staff/data/{slug}/loads/{world['loads'][1].pk}/cancel/"],
        "datasets:reopen": lambda: [f"/staff/data/{slug}/loads/{world['loads'][1].pk}/again/"],
        "opendata:dataset-rdf": lambda: [f"/open/{slug}.ttl"],  # not on the portal: 404
        "opendata:dataset": lambda: [f"/open/{slug}/"],
        "opendata:describe": lambda: [f"/staff/open/{slug}/"],
        "opendata:publish": lambda: [f"/staff/open/{slug}/publish/"],
        "opendata:withdraw": lambda: [f"/staff/open/{slug}/withdraw/"],
        "opendata:reuse-new": lambda: [f"/open/{slug}/reuses/new/"],
        "opendata:reuse-decide": lambda: ["/staff/open/reuses/1/review/"],
        "opendata:usage": lambda: [f"/staff/open/{slug}/usage/"],
        "core:set-password": lambda: [  # the link in the mail, then the form it leads to
            f"/account/password/{uid}/{default_token_generator.make_token(superuser)}/",
            f"/account/password/{uid}/set-password/",
        ],
        "core:organisation": lambda: ["/staff/organisations/KOR/", "/staff/organisations/ZWVL/"],
        "core:department-create": lambda: ["/staff/organisations/KOR/departments/new/"],
        "core:department": lambda: [
            f"/staff/organisations/KOR/departments/{world['department'].pk}/"
        ],
        "core:membership-create": lambda: ["/staff/organisations/KOR/people/new/"],
        "core:api-token-revoke": lambda: [f"/account/api-tokens/{world['token'].pk}/revoke/"],
        "dashboards:dashboard": lambda: [
            "/dashboards/meldpunt/",
            "/dashboards/meldpunt/?start=2026-13-01",  # the filter form as it shows a mistake
            "/dashboards/meldpunt/?embed=1",  # internal: not embedded
        ],
        "dashboards:chart": lambda: ["/dashboards/meldpunt/per-maand/"],
        "dashboards:chart-file": lambda: ["/dashboards/meldpunt/per-maand.csv"],
        "dashboards:dashboard-pdf": lambda: ["/dashboards/meldpunt.pdf"],
        "documents:letter": lambda: [f"/staff/letters/{world['letter'].public_id}/"],
        "documents:file": lambda: [f"/staff/letters/{world['letter'].public_id}/files/1/"],
        "documents:resend": lambda: [f"/staff/letters/{world['letter'].public_id}/resend/"],
    }


BROWSER = {"HTTP_ACCEPT": "text/html,*/*;q=0.8"}


def error_states(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(who, address, form) sent by POST: the pages as they show mistakes."""
    report = world["reports"]["conversation"].reference
    new = world["reports"]["new"].reference
    menen_roads = Department.objects.get(organisation__code="MEN", name="Openbare werken")
    token = services.followup_token(world["reports"]["waiting"])
    asked = world["reports"]["reopen_requested"].reference
    resolved = services.followup_token(world["reports"][Status.RESOLVED])
    handoff = handoff_token(world["reports"]["forwarded"].handovers.get())
    return [
        ("anonymous", "/melden/", {}),
        ("anonymous", "/melden/", {"description": "x", "latitude": "91", "longitude": "x"}),
        ("anonymous", "/account/login/", {"username": "nobody@example.org", "password": "x"}),
        ("anonymous", f"/melding/{token}/antwoord/", {"body": ""}),
        ("anonymous", f"/overdracht/{handoff}/", {"action": "resolve", "resolve-message": ""}),
        ("anonymous", f"/overdracht/{handoff}/", {"action": "reject", "reject-reason": ""}),
        ("anonymous", f"/melding/{resolved}/beoordeling/", {"option": "", "reopen": "on"}),
        ("superuser", "/staff/reports/new/", {}),
        (
            "superuser",
            "/staff/reports/new/",
            {"check": "1", "latitude": "50.83", "longitude": "3.26"},
        ),
        ("superuser", f"/staff/reports/{new}/status/", {"status": "on_hold"}),
        ("superuser", f"/staff/reports/{new}/assign/", {"department": menen_roads.pk}),
        ("superuser", f"/staff/reports/{new}/place/", {"latitude": "50.8"}),
        ("superuser", f"/staff/reports/{new}/note/", {"body": ""}),
        ("superuser", f"/staff/reports/{new}/message/", {"body": ""}),
        ("superuser", f"/staff/reports/{new}/forward/", {"reason": ""}),
        ("superuser", f"/staff/reports/{report}/merge/", {"into": "KOR-1999-000001"}),
        ("superuser", f"/staff/reports/{report}/split/", {"category": "bogus"}),
        ("superuser", f"/staff/reports/{asked}/reopen-request/decline/", {"body": ""}),
        ("superuser", "/staff/data/new/", {}),
        ("superuser", "/staff/organisations/KOR/departments/new/", {}),
        ("superuser", "/staff/organisations/KOR/people/new/", {}),
        ("superuser", "/account/api-tokens/new/", {"reach": "chosen"}),
        (  # the token, shown once
            "superuser",
            "/account/api-tokens/new/",
            {"name": "BI", "scope": "read", "reach": "all", "expires_in_days": "365"},
        ),
    ]


def test_no_page_repeats_an_id_and_every_label_names_a_field(world, settings):
    settings.MAX_REQUEST_MB = 1
    clients = {
        "anonymous": Client(),
        "superuser": staff_client(world["superuser"]),
        "agent": staff_client(world["agent"]),
    }
    for client in clients.values():
        client.cookies["regiohub_language"] = "en"
    known = builders(world)
    found: dict[str, list[str]] = {}
    checked: Counter[str] = Counter()
    unbuilt = []

    def check(label: str, response: Any) -> None:
        if is_page(response):
            checked[f"{label} -> {response.status_code}"] += 1
            issues = problems(response.content.decode())
            if issues:
                found[label] = issues

    for route, name in routes():
        if any(route.startswith(prefix) for prefix in NOT_PAGES) or name in CANNOT_BUILD:
            continue
        if has_parameters(route):
            if name not in known:
                unbuilt.append(f"{route} ({name})")
                continue
            urls = known[name]()
        else:
            urls = ["/" + route]
        for url in urls:
            for who, client in clients.items():
                check(f"{who} GET {url}", client.get(url))

    for who, url, data in error_states(world):
        check(f"{who} POST {url}", clients[who].post(url, data))

    # The error pages.
    handler = MembershipFactory(organisation=world["reports"]["new"].organisation,
                                role=Role.HANDLER).user  # fmt: skip
    error_pages = {
        404: Client().get("/nergens/"),
        403: staff_client(handler).get("/staff/reports/mail/"),
        400: Client().get("/melden/?next=a%00b", **BROWSER),
        413: Client().post("/melden/", {}, CONTENT_LENGTH=str(2 << 20), **BROWSER),
        429: errors.error_page(RequestFactory().get("/"), 429, minutes=2),
        500: errors.server_error(RequestFactory().get("/")),
    }
    for status, response in error_pages.items():
        assert response.status_code == status
        check(f"error page {status}", response)
    check("expired form", Client(enforce_csrf_checks=True).post("/account/login/", {}))

    assert unbuilt == [], "add these to builders() or CANNOT_BUILD (with the reason)"
    assert found == {}
    # The walk really opened the pages (not only redirects to the login).
    opened = " ".join(checked)
    for page in ("superuser GET /staff/reports/", "superuser GET /staff/reports/mail/",
                 "superuser GET /staff/reports/new/", "anonymous GET /melden/",
                 "anonymous GET /melden/privacy/", "anonymous GET /account/login/",
                 "superuser GET /staff/data/new/", "anonymous GET /data/",
                 "anonymous GET /melding/", "anonymous GET /account/password/"):  # fmt: skip
        assert page in opened, page
    report_pages = [key for key in checked if re.match(r"superuser GET /staff/reports/\w+-", key)]
    assert len(report_pages) >= len(world["reports"])
