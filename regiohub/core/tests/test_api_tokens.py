"""Personal API tokens: created on the account pages and shown once, stored as a hash,
refused with a 401 that says why, scoped to the organisations chosen and to what the
person holds now, a read token never writes, revoked by the owner or an administrator."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from regiohub.core import api_tokens
from regiohub.core.history import CoreAction
from regiohub.core.models import ApiToken, HistoryEntry, Membership
from regiohub.core.roles import Role
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def bearer(token: str, **extra: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


def codes(client: Client) -> set[str]:
    answer = client.get("/api/v1/organisations/?limit=500")
    assert answer.status_code == 200, answer.content
    return {row["code"] for row in answer.json()["results"]}


@pytest.fixture
def person(region):
    """An employee of Kortrijk and of Menen."""
    user = MembershipFactory(organisation=region["KOR"], role=Role.EMPLOYEE).user
    MembershipFactory(organisation=region["MEN"], role=Role.EMPLOYEE, user=user)
    return user


def test_a_token_is_created_on_the_account_page_shown_once_and_stored_hashed(region, person):
    client = staff_client(person)
    client.cookies["regiohub_language"] = "en"
    page = client.get("/account/api-tokens/new/")
    assert page.status_code == 200
    assert "Kortrijk" in page.content.decode() and "Menen" in page.content.decode()
    answer = client.post(
        "/account/api-tokens/new/",
        {"name": "Power BI", "scope": "read", "reach": "chosen",
         "organisations": [region["KOR"].pk], "expires_in_days": "90"},
    )  # fmt: skip
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    secret = re.search(r'value="(rh_[a-z0-9]{8}_[A-Za-z0-9_-]+)"', answer.content.decode())[1]
    token = ApiToken.objects.get()
    assert secret.startswith(token.prefix + "_")
    assert token.key_hash == api_tokens.hash_token(secret)
    assert token.scope == "read" and not token.all_organisations
    assert list(token.organisations.all()) == [region["KOR"]]
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    # The secret is nowhere in the database: not in the token's row, not in its history.
    row = json.dumps(list(ApiToken.objects.values()), default=str)
    history = json.dumps(list(HistoryEntry.objects.values()), default=str)
    assert secret[len(token.prefix) :] not in row + history
    entry = HistoryEntry.objects.get(action=CoreAction.API_TOKEN_CREATED)
    assert entry.actor == person and entry.after["prefix"] == token.prefix
    # The list shows it without its secret; the page is never shown again.
    listing = client.get("/account/api-tokens/").content.decode()
    assert "Power BI" in listing and token.prefix in listing and secret not in listing
    assert codes(bearer(secret)) == {"KOR"}


def test_a_form_without_name_or_organisations_is_refused_at_its_fields(region, person):
    client = staff_client(person)
    client.cookies["regiohub_language"] = "en"
    answer = client.post("/account/api-tokens/new/", {"scope": "write", "reach": "chosen",
                                                       "expires_in_days": "365"})  # fmt: skip
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "Tick at least one organisation." in page and 'id="form-errors"' in page
    assert not ApiToken.objects.exists()
    # An organisation the person holds no role in is not a choice.
    answer = client.post("/account/api-tokens/new/", {"name": "x", "scope": "read",
                         "reach": "chosen", "organisations": [region["W13"].pk],
                         "expires_in_days": "365"})  # fmt: skip
    assert answer.status_code == 200 and not ApiToken.objects.exists()


def test_unknown_revoked_and_expired_tokens_get_a_401_that_says_why(region, person):
    made = api_tokens.create_token(person, name="Script")
    assert bearer(made.secret).get("/api/v1/organisations/").status_code == 200
    wrong = made.secret[:-4] + ("AAAA" if not made.secret.endswith("AAAA") else "BBBB")
    for sent in (wrong, "rh_nothing", "x" * 500, "rh_abcdefgh_" + "A" * 43):
        answer = bearer(sent, HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/organisations/")
        assert answer.status_code == 401, sent
        assert answer["WWW-Authenticate"].startswith("Bearer")
        assert "not valid" in answer.json()["detail"]
    ApiToken.objects.filter(pk=made.token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    answer = bearer(made.secret, HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/organisations/")
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    ApiToken.objects.filter(pk=made.token.pk).update(expires_at=None)
    api_tokens.revoke_token(made.token, person)
    answer = bearer(made.secret, HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/organisations/")
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    # In the caller's language (the date at least, until the catalogue has the sentence).
    answer = bearer(made.secret, HTTP_ACCEPT_LANGUAGE="nl").get("/api/v1/organisations/")
    month = timezone.localtime(ApiToken.objects.get().revoked_at).month
    dutch = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
             "september", "oktober", "november", "december"][month - 1]  # fmt: skip
    assert answer.status_code == 401 and dutch in answer.json()["detail"]
    # A token sent with a session never falls back to the session or to anonymous.
    client = staff_client(person)
    answer = client.get("/api/v1/organisations/", HTTP_AUTHORIZATION=f"Bearer {made.secret}")
    assert answer.status_code == 401


def test_the_token_schemes_clients_use(region, person):
    secret = api_tokens.create_token(person, name="CKAN").secret
    for header in (f"Bearer {secret}", f"Token {secret}", secret, f"bearer  {secret} "):
        assert codes(Client(HTTP_AUTHORIZATION=header)) == {"KOR", "MEN"}, header
    # Another scheme is someone else's: the request is anonymous, as without a header.
    answer = Client(HTTP_AUTHORIZATION="Basic dXNlcjpwdw==").get("/api/v1/organisations/")
    assert answer.status_code == 401


def test_a_token_never_reaches_more_than_its_owner_holds_now(region, person):
    secret = api_tokens.create_token(person, name="All").secret
    assert codes(bearer(secret)) == {"KOR", "MEN"}
    Membership.objects.filter(user=person, organisation=region["MEN"]).delete()
    assert codes(bearer(secret)) == {"KOR"}
    # A token limited to an organisation the person left reaches nothing there.
    limited = api_tokens.create_token(person, name="Kortrijk", organisations=[region["KOR"]])
    Membership.objects.filter(user=person).delete()
    assert codes(bearer(limited.secret)) == set()
    person.is_active = False
    person.save()
    assert bearer(secret).get("/api/v1/organisations/").status_code == 401


def test_a_region_token_covers_the_organisations_below_it_only_when_chosen(region):
    user = MembershipFactory(organisation=region["ZWVL"], role=Role.EMPLOYEE).user
    region_wide = api_tokens.create_token(user, name="Region").secret
    assert {"KOR", "MEN", "ZWVL"} <= codes(bearer(region_wide))
    # Choosing the region keeps what is below it; choosing is only among the person's own.
    chosen = api_tokens.create_token(user, name="Region", organisations=[region["ZWVL"]])
    assert codes(bearer(chosen.secret)) == codes(bearer(region_wide))


def test_a_read_token_never_writes(region, person):
    secret = api_tokens.create_token(person, name="Read").secret
    answer = bearer(secret, HTTP_ACCEPT_LANGUAGE="en").post(
        "/api/v1/datasets/anything/restore/", {"version": 1, "reason": "x"},
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 403
    assert "may only read" in answer.json()["detail"]
    # Every capability that changes something is withheld from it, whatever the person holds.
    from regiohub.core import access
    from regiohub.core.roles import MANAGE_ORGANISATION, VIEW_ORGANISATION

    admin = MembershipFactory(organisation=region["KOR"], admin=True).user
    token = api_tokens.create_token(admin, name="Read").token
    access.limit_to_token(admin, api_tokens.scope_of(token))
    assert access.organisation_ids(admin, MANAGE_ORGANISATION) == frozenset()
    assert region["KOR"].pk in access.organisation_ids(admin, VIEW_ORGANISATION)


def test_use_is_written_at_most_once_a_minute(region, person, django_assert_num_queries):
    made = api_tokens.create_token(person, name="Busy")
    client = bearer(made.secret, REMOTE_ADDR="192.0.2.7")
    for _ in range(3):
        assert client.get("/api/v1/organisations/").status_code == 200
    token = ApiToken.objects.get(pk=made.token.pk)
    assert token.use_count == 1 and token.last_used_ip == "192.0.2.7"
    assert token.last_used_at is not None
    # A minute later the uses counted meanwhile are written with the next one.
    api_tokens._uses[(token.pk, token.prefix)].written_at -= api_tokens.USE_WRITE_SECONDS
    client.get("/api/v1/organisations/")
    assert ApiToken.objects.get(pk=token.pk).use_count == 4


def test_the_owner_revokes_after_confirming(region, person):
    made = api_tokens.create_token(person, name="Notebook")
    client = staff_client(person)
    client.cookies["regiohub_language"] = "en"
    url = f"/account/api-tokens/{made.token.pk}/revoke/"
    page = client.get(url)
    assert page.status_code == 200 and "Notebook" in page.content.decode()
    assert ApiToken.objects.get().revoked_at is None  # asking revokes nothing
    answer = client.post(url)
    assert answer.status_code == 302 and answer["Location"] == "/account/api-tokens/"
    token = ApiToken.objects.get()
    assert token.revoked_at is not None and token.revoked_by == person
    assert HistoryEntry.objects.filter(action=CoreAction.API_TOKEN_REVOKED, actor=person).exists()
    assert bearer(made.secret).get("/api/v1/organisations/").status_code == 401
    # Someone else cannot even see that it exists.
    stranger = staff_client(UserFactory())
    assert stranger.get(url).status_code == 404 and stranger.post(url).status_code == 404


def test_revoking_needs_a_form_with_its_csrf_token(region, person):
    made = api_tokens.create_token(person, name="x")
    client = staff_client(person)
    client.handler.enforce_csrf_checks = True
    assert client.post(f"/account/api-tokens/{made.token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.get().revoked_at is None


def test_administrators_see_their_peoples_tokens_and_revoke_them(region, person):
    made = api_tokens.create_token(person, name="Sensor push", scope="write")
    api_tokens.record_use(made.token, "198.51.100.4")
    kortrijk_admin = MembershipFactory(organisation=region["KOR"], admin=True).user
    client = staff_client(kortrijk_admin)
    client.cookies["regiohub_language"] = "en"
    page = client.get("/staff/api-tokens/").content.decode()
    assert "Sensor push" in page and str(person) in page and "198.51.100.4" in page
    assert client.post(f"/account/api-tokens/{made.token.pk}/revoke/")["Location"] == (
        "/staff/api-tokens/"
    )
    token = ApiToken.objects.get()
    assert token.revoked_by == kortrijk_admin
    # An administrator elsewhere sees nothing of it; a person who manages nobody has no list.
    other = staff_client(MembershipFactory(organisation=region["W13"], admin=True).user)
    assert "Sensor push" not in other.get("/staff/api-tokens/").content.decode()
    assert other.get(f"/account/api-tokens/{made.token.pk}/revoke/").status_code == 404
    assert staff_client(person).get("/staff/api-tokens/").status_code == 403


def test_a_token_cannot_manage_tokens(region, person):
    made = api_tokens.create_token(person, name="x", scope="write")
    answer = bearer(made.secret).post(f"/account/api-tokens/{made.token.pk}/revoke/")
    assert answer.status_code == 302 and "/account/login/" in answer["Location"]
    assert ApiToken.objects.get().revoked_at is None


def test_the_pages_need_a_login(region):
    for url in ("/account/api-tokens/", "/account/api-tokens/new/", "/staff/api-tokens/"):
        answer = Client().get(url)
        assert answer.status_code == 302 and "/account/login/" in answer["Location"]


def test_a_persons_tokens_are_in_their_export_and_gone_with_their_erasure(region, person):
    from regiohub.core import privacy

    made = api_tokens.create_token(person, name="Notebook")
    api_tokens.record_use(made.token, "203.0.113.9")
    exported = privacy.export(person.email)["modules"]["core"]["accounts"][0]["api_tokens"]
    assert exported[0]["starts_with"] == made.token.prefix
    assert exported[0]["last_used_from"] == "203.0.113.9"
    assert made.secret not in json.dumps(exported)
    privacy.erase(person.email, actor_label="test")
    assert not ApiToken.objects.exists()
    assert bearer(made.secret).get("/api/v1/organisations/").status_code == 401
