"""Downloads with a personal API token: Power BI, Excel, QGIS and curl fetch a dataset's
CSV or Parquet address with an ``Authorization`` header. The token reaches what its owner
may read, narrowed to its organisations, as on the API; what it may not read is a 404 as
for a person without rights; a token that opens nothing is a 401 that says why, never an
anonymous answer. No session and no cookie come of it; the pages stay session-only."""

from __future__ import annotations

import io
from datetime import timedelta

import pyarrow.parquet as pq
import pytest
from django.test import Client
from django.utils import timezone

from regiohub.core import api_tokens
from regiohub.core.models import ApiToken
from regiohub.core.roles import Role
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.datasets.tests.conftest import member
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(region):
    """Datasets of Kortrijk (internal) and of Menen (internal, shared with the region,
    open); an analyst of Kortrijk who is also an employee (no data rights) of Menen."""
    datasets = {}
    for code, slug, access in [("KOR", "kor-intern", "internal"), ("MEN", "men-intern",
                               "internal"), ("MEN", "men-regio", "region"),
                               ("MEN", "men-open", "open")]:  # fmt: skip
        steward = member(region[code], Role.DATA_STEWARD)
        dataset = make_dataset(region[code], steward, slug=slug, title=slug, access=access)
        assert upload(dataset, steward, COUNTS_CSV, mode="replace").state == "done"
        datasets[slug] = dataset
    analyst = member(region["KOR"], Role.ANALYST)
    MembershipFactory(organisation=region["MEN"], role=Role.EMPLOYEE, user=analyst)
    return datasets, analyst


def token_for(user, **kwargs) -> api_tokens.NewToken:
    return api_tokens.create_token(user, name="Power BI", **kwargs)


def bearer(secret: str, **extra: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", **extra)


def body(answer) -> bytes:
    return b"".join(answer.streaming_content) if answer.streaming else answer.content


def no_cookie(answer) -> None:
    assert not answer.cookies, answer.cookies
    assert "Set-Cookie" not in answer


def test_a_read_token_downloads_its_municipalitys_internal_dataset(region, world):
    _datasets, analyst = world
    made = token_for(analyst, scope="read")
    client = bearer(made.secret, REMOTE_ADDR="192.0.2.8")
    answer = client.get("/data/kor-intern/download/?format=csv")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    lines = body(answer).decode().splitlines()
    assert len(lines) == 4 and "segment" in lines[0]
    no_cookie(answer)
    assert "Authorization" in answer["Vary"] and "private" in answer["Cache-Control"]
    answer = client.get("/data/kor-intern/download/?format=parquet&version=1")
    assert answer.status_code == 200
    assert pq.read_table(io.BytesIO(body(answer))).num_rows == 3
    no_cookie(answer)
    # Counted as on the API.
    token = ApiToken.objects.get(pk=made.token.pk)
    assert token.use_count >= 1 and token.last_used_ip == "192.0.2.8"
    # Also with "Token …" and the bare token, the forms the API takes.
    for header in (f"Token {made.secret}", made.secret):
        other = Client(HTTP_AUTHORIZATION=header).get("/data/kor-intern/download/")
        assert other.status_code == 200, header


def test_a_region_shared_dataset_downloads_but_another_municipalitys_internal_one_is_404(
    region, world
):
    _datasets, analyst = world
    client = bearer(token_for(analyst).secret)
    answer = client.get("/data/men-regio/download/?format=csv")
    assert answer.status_code == 200 and b"segment" in body(answer)
    missing = client.get("/data/men-intern/download/?format=csv")
    assert missing.status_code == 404  # as for the person logged in: not a 403
    no_cookie(missing)
    assert "nothing this API token may read" in missing.content.decode()
    assert staff_client(analyst).get("/data/men-intern/download/").status_code == 404
    # The compare download is the same kind of download: the dataset's own answer (one
    # version, nothing to compare), not a 401 or a 404.
    answer = client.get("/data/kor-intern/compare/download/")
    assert answer.status_code == 400 and b"no older version" in answer.content
    assert client.get("/data/men-intern/compare/download/").status_code == 404


def test_the_compare_download_takes_a_token(region, world):
    datasets, analyst = world
    dataset = datasets["kor-intern"]
    assert upload(dataset, dataset.created_by, COUNTS_CSV).state == "done"
    answer = bearer(token_for(analyst).secret).get("/data/kor-intern/compare/download/?from=1&to=2")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    assert body(answer).decode().startswith("change,")
    no_cookie(answer)


def test_a_token_for_another_organisation_reaches_nothing_of_kortrijk(region, world):
    _datasets, analyst = world
    menen = bearer(token_for(analyst, organisations=[region["MEN"]]).secret)
    for slug in ("kor-intern", "men-intern", "men-regio"):
        answer = menen.get(f"/data/{slug}/download/?format=csv")
        assert answer.status_code == 404, slug
        no_cookie(answer)
    assert menen.get("/data/men-open/download/?format=csv").status_code == 200
    kortrijk = bearer(token_for(analyst, organisations=[region["KOR"]]).secret)
    assert kortrijk.get("/data/kor-intern/download/?format=csv").status_code == 200


def test_revoked_expired_and_unknown_tokens_are_a_401_that_says_why(region, world):
    _datasets, analyst = world
    made = token_for(analyst)
    url = "/data/kor-intern/download/?format=csv"
    answer = bearer(made.secret[:-4] + "AAAA", HTTP_ACCEPT_LANGUAGE="en").get(url)
    assert answer.status_code == 401 and answer["WWW-Authenticate"].startswith("Bearer")
    assert "not valid" in answer.content.decode()
    assert answer["Content-Type"].startswith("text/plain")
    no_cookie(answer)
    ApiToken.objects.filter(pk=made.token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    answer = bearer(made.secret, HTTP_ACCEPT_LANGUAGE="en").get(url)
    assert answer.status_code == 401 and "expired" in answer.content.decode()
    ApiToken.objects.filter(pk=made.token.pk).update(expires_at=None)
    api_tokens.revoke_token(made.token, analyst)
    answer = bearer(made.secret, HTTP_ACCEPT_LANGUAGE="en", HTTP_ACCEPT="application/json").get(url)
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_revoked" and "revoked" in answer.json()["detail"]
    no_cookie(answer)
    # In the caller's language (the date at least, until the catalogue has the sentence).
    answer = bearer(made.secret, HTTP_ACCEPT_LANGUAGE="nl").get(url)
    month = timezone.localtime(ApiToken.objects.get(pk=made.token.pk).revoked_at).month
    dutch = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
             "september", "oktober", "november", "december"][month - 1]  # fmt: skip
    assert answer.status_code == 401 and dutch in answer.content.decode()
    # Never a fall-back: not to anonymous (the open dataset), not to a session sent with it.
    assert bearer(made.secret).get("/data/men-open/download/").status_code == 401
    session = staff_client(analyst)
    answer = session.get(url, HTTP_AUTHORIZATION=f"Bearer {made.secret}")
    assert answer.status_code == 401
    no_cookie(answer)


def test_an_open_dataset_downloads_with_and_without_a_token(region, world):
    _datasets, analyst = world
    for client in (Client(), bearer(token_for(analyst).secret)):
        answer = client.get("/data/men-open/download/?format=csv")
        assert answer.status_code == 200 and b"segment" in body(answer)
        assert "Authorization" in answer["Vary"]
    anonymous = Client().get("/data/kor-intern/download/?format=csv")
    assert anonymous.status_code == 404


def test_the_token_is_for_downloads_only(region, world):
    _datasets, analyst = world
    made = token_for(analyst, scope="write")
    client = bearer(made.secret)
    # The dataset's page stays session-only: with a token it is an anonymous visitor's.
    assert client.get("/data/kor-intern/").status_code == 404
    assert client.get("/data/kor-intern/compare/").status_code == 404
    assert client.get("/data/").status_code == 200
    assert "kor-intern" not in client.get("/data/").content.decode()
    # Downloads are read: nothing else goes with a token, not even with a write token.
    assert client.post("/data/kor-intern/download/").status_code == 405
    # The person logged in still downloads, without a token.
    assert staff_client(analyst).get("/data/kor-intern/download/").status_code == 200


def test_a_token_makes_no_session(region, world):
    from django.contrib.sessions.models import Session

    _datasets, analyst = world
    before = Session.objects.count()
    answer = bearer(token_for(analyst).secret, HTTP_ACCEPT="text/html").get(
        "/data/men-intern/download/"
    )
    assert answer.status_code == 404 and answer["Content-Type"].startswith("text/plain")
    no_cookie(answer)
    assert Session.objects.count() == before
