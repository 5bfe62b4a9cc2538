"""A feed connects only to the hosts of its kind's allow-list: an API address pointing
elsewhere (an internal server, a cloud metadata service) is refused when saved and again
when fetched, redirects off the list are not followed, a listed name resolving to an
internal address is refused, and an error shows a status, never the answer's body."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from django.test import override_settings
from structlog.testing import capture_logs

from regiohub.conf import ConfigurationError
from regiohub.core.testing import FakeHandler, local_server, run_tasks, staff_client
from regiohub.core.tests.factories import UserFactory
from regiohub.datasets import services
from regiohub.datasets.feeds.addresses import host_policy, internal, url_problem
from regiohub.datasets.feeds.base import (
    FeedAddressError,
    FeedError,
    FeedRequestError,
    FeedSettingsError,
)
from regiohub.datasets.feeds.telraam import TelraamClient, TelraamFeed
from regiohub.datasets.models import Feed
from regiohub.datasets.tasks import run_due_feeds
from regiohub.datasets.tests.factories import make_dataset
from regiohub.datasets.tests.fake_telraam import allow_local_telraam, fake_telraam

OCT = datetime(2025, 10, 1, tzinfo=UTC)
NOV = datetime(2025, 11, 1, tzinfo=UTC)
SECRET = "INTERNAL-ONLY-aws-secret-access-key"
REPORT = b'{"status_code": 200, "message": "ok", "report": []}'

HOSTILE = [
    "http://127.0.0.1:8191",
    "http://169.254.169.254",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[::1]:8191",
    "http://localhost:8191",
    "http://2130706433",
    "http://0x7f000001",
    "http://10.0.0.1",
    "http://telraam-api.net@169.254.169.254/",
    "http://telraam-api.net:x@127.0.0.1/",
    "https://telraam-api.net.evil.example",
    "https://evil.example/telraam-api.net",
    "ftp://telraam-api.net",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "https://telraam-api.net/?next=http://127.0.0.1",
    "https://telraam-api.net/#x",
    "https://telraam-api.net\x00.evil.example",
    "https://" + "a" * 3000 + ".example",
    "https://telraam-api.net/" + "x" * 5000,
]


def feed_post(url: str, **extra: str) -> dict[str, str]:
    return {
        "kind": "telraam",
        "api_key": "the-real-key",
        "segment_ids": "9000008311",
        "start": "2025-12-01 00:00",
        "base_url": url,
        "interval_minutes": "60",
        "is_active": "on",
        **extra,
    }


def serve(handler_body):
    """A local server answering every POST with ``handler_body(handler)``."""

    class Handler(FakeHandler):
        received: list = []

        def do_POST(self) -> None:
            self.read_request()
            handler_body(self)

        do_GET = do_POST

    Handler.received = []
    return Handler, local_server(Handler, poll_interval=0.05)


# --- saving ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", HOSTILE)
def test_a_steward_cannot_save_an_address_off_the_list(region, steward, url):
    dataset = make_dataset(region["KOR"], steward, slug="telraam")
    answer = staff_client(steward).post(f"/staff/data/{dataset.slug}/feed/", feed_post(url))

    assert answer.status_code in (200, 400)  # 400: a NUL byte, refused before the view
    text = answer.content.decode()
    if answer.status_code == 200:
        assert (
            "not an allowed host" in text
            or "Enter the address of the API alone" in text
            or ("Enter a valid URL" in text)
        )
    assert Feed.objects.count() == 0
    # The same settings saved some other way (the admin, an old row) do not run either.
    with pytest.raises(FeedSettingsError) as caught:
        TelraamFeed({"api_key": "k", "segment_ids": [1], "start": "2025-09-01T00:00:00Z",
                     "base_url": url})  # fmt: skip
    assert set(caught.value.errors) == {"base_url"}


@pytest.mark.django_db
def test_the_refusal_names_the_allowed_hosts(region, steward):
    dataset = make_dataset(region["KOR"], steward, slug="telraam")
    url = f"/staff/data/{dataset.slug}/feed/"
    answer = staff_client(steward).post(url, feed_post("http://169.254.169.254"))
    text = answer.content.decode()
    assert "“169.254.169.254” is not an allowed host for this feed" in text
    assert "Allowed: telraam-api.net." in text and "REGIOHUB_DATASETS_FEED_HOSTS" in text
    with override_settings(DATASETS_FEED_HOSTS={"telraam": ["proxy.intern.example:8443"]}):
        answer = staff_client(steward).post(url, feed_post("https://telraam-api.net"))
        assert "Allowed: proxy.intern.example:8443." in answer.content.decode()
        other_port = staff_client(steward).post(url, feed_post("https://proxy.intern.example:9"))
        assert other_port.status_code == 200 and Feed.objects.count() == 0
        saved = staff_client(steward).post(url, feed_post("https://proxy.intern.example:8443/"))
        assert saved.status_code == 302
    assert Feed.objects.get().settings["base_url"] == "https://proxy.intern.example:8443/"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["", "https://telraam-api.net", "https://TELRAAM-API.NET./"])
def test_the_real_service_is_allowed_by_default(region, steward, url):
    dataset = make_dataset(region["KOR"], steward, slug="telraam")
    answer = staff_client(steward).post(f"/staff/data/{dataset.slug}/feed/", feed_post(url))
    assert answer.status_code == 302
    TelraamFeed(Feed.objects.get().settings)  # and it may run


@pytest.mark.django_db
def test_the_admin_refuses_an_address_off_the_list_too(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    client = staff_client(UserFactory(superuser=True))
    answer = client.post(
        "/admin/datasets/feed/add/",
        {
            "dataset": dataset.pk,
            "kind": "telraam",
            "settings": '{"api_key": "k", "segment_ids": [1], "start": "2025-09-01T00:00:00Z",'
            ' "base_url": "http://169.254.169.254"}',
            "interval_minutes": 60,
            "is_active": "on",
        },
    )
    assert answer.status_code == 200
    assert "is not an allowed host" in answer.content.decode()
    assert Feed.objects.count() == 0


# --- fetching ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_feed_saved_before_is_refused_when_it_runs_and_nothing_is_sent(region, steward):
    dataset = make_dataset(region["KOR"], steward, slug="telraam")
    with fake_telraam(allowed=False) as internal_server:
        feed = Feed.objects.create(
            dataset=dataset,
            kind="telraam",
            settings={
                "api_key": "the-real-key",
                "segment_ids": [9000008311],
                "start": "2025-09-01T00:00:00Z",
                "base_url": internal_server.url,
            },
        )
        assert run_due_feeds.call() == 1
        run_tasks()
        assert internal_server.received == []
        with pytest.raises(FeedSettingsError):
            services.run_feed(Feed.objects.get(pk=feed.pk))
    feed.refresh_from_db()
    assert "base_url" in feed.last_error and "not an allowed host" in feed.last_error
    page = staff_client(steward).get(f"/staff/data/{dataset.slug}/feed/").content.decode()
    assert "not an allowed host" in page


def test_the_client_refuses_a_host_off_the_list_before_sending_anything():
    with fake_telraam(allowed=False) as internal_server:
        with pytest.raises(FeedAddressError, match="not an allowed host for telraam feeds"):
            TelraamClient(internal_server.url, "the-real-key", max_retries=0).traffic(1, OCT, NOV)
        assert internal_server.received == []


def test_a_listed_name_resolving_to_an_internal_address_is_refused_before_sending():
    # The built-in list must resolve to public addresses; "localhost" stands in for a
    # listed name whose DNS answer was changed to point inside.
    with fake_telraam(allowed=False) as server:
        url = server.url.replace("127.0.0.1", "localhost")
        builtin = host_policy("no-such-kind", ["localhost"])
        assert not builtin.configured
        with pytest.raises(FeedAddressError, match="resolves to an internal address"):
            TelraamClient(url, "the-real-key", max_retries=0, hosts=builtin).traffic(1, OCT, NOV)
        assert server.received == []
        # Named by the installation, an internal host is trusted (a proxy, a test server).
        with override_settings(DATASETS_FEED_HOSTS={"no-such-kind": ["localhost"]}):
            named = host_policy("no-such-kind", [])
            assert named.configured
            assert TelraamClient(url, server.api_key, hosts=named).traffic(1, OCT, NOV) == []
        assert len(server.received) == 1


def test_a_port_in_an_entry_allows_only_that_port():
    with override_settings(DATASETS_FEED_HOSTS={"telraam": ["127.0.0.1:1"]}):
        policy = host_policy("telraam", ["telraam-api.net"])
    assert url_problem("http://127.0.0.1:1/x", policy) is None
    assert url_problem("http://127.0.0.1:2/x", policy) is not None
    assert url_problem("https://telraam-api.net", policy) is not None  # replaced, not added


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "224.0.0.1",
        "::1",
        "fe80::1%eth0",
        "fd00::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "not an address",
    ],
)
def test_internal_addresses(address):
    assert internal(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses(address):
    assert not internal(address)


# --- redirects ---------------------------------------------------------------------------


def redirecting(status: int, location: str):
    return serve(lambda h: h.send_bytes(status, b"{}", {"Location": location}))


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_off_the_list_is_not_followed(status):
    sink_handler, sink = serve(lambda h: h.send_bytes(200, REPORT))
    with sink as sink_url:
        off_list = sink_url.replace("127.0.0.1", "localhost") + "/steal"
        handler, server = redirecting(status, off_list)
        with server as url, allow_local_telraam():
            client = TelraamClient(url, "the-real-key", max_retries=0)
            with pytest.raises(FeedRequestError) as caught:
                client.traffic(1, OCT, NOV)
            assert f"HTTP {status}" in str(caught.value)
            assert len(handler.received) == 1
    assert sink_handler.received == []


def test_a_307_to_an_allowed_address_is_followed_with_the_same_request():
    sink_handler, sink = serve(lambda h: h.send_bytes(200, REPORT))
    with sink as sink_url:
        _handler, server = redirecting(307, sink_url + "/v2/reports/traffic")
        with server as url, allow_local_telraam():
            assert TelraamClient(url, "k", max_retries=0).traffic(1, OCT, NOV) == []
    (followed,) = sink_handler.received
    assert (followed.method, followed.path) == ("POST", "/v2/reports/traffic")
    assert followed.json()["id"] == "1"


def test_redirects_are_not_followed_for_ever():
    handler, server = serve(lambda h: h.send_bytes(308, b"", {"Location": h.path + "x"}))
    with (
        server as url,
        allow_local_telraam(),
        pytest.raises(FeedRequestError, match="redirected more than"),
    ):
        TelraamClient(url, "k", max_retries=0).traffic(1, OCT, NOV)
    assert len(handler.received) == 4


# --- what an error shows -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (400, b'{"message": "' + SECRET.encode() + b'"}', "Telraam refused the request (HTTP 400)"),
        (404, SECRET.encode(), "Telraam refused the request (HTTP 404)"),
        (200, SECRET.encode(), "not valid JSON (HTTP 200"),
        (200, b'{"report": [{"segment_id": "' + SECRET.encode() * 20 + b'"}]}', "segment_id"),
    ],
)
def test_an_error_shows_a_status_and_a_short_reason_never_the_body(
    region, steward, status, body, shown
):
    dataset = make_dataset(region["KOR"], steward, slug="telraam")
    _handler, server = serve(lambda h: h.send_bytes(status, body))
    with server as url, allow_local_telraam():
        feed = Feed.objects.create(
            dataset=dataset,
            kind="telraam",
            settings={
                "api_key": "k",
                "segment_ids": [1],
                "start": "2025-09-01T00:00:00Z",
                "base_url": url,
            },
        )
        with capture_logs(), pytest.raises(FeedError):
            services.run_feed(feed, until=OCT)
    feed.refresh_from_db()
    assert shown in feed.last_error and len(feed.last_error) < 200
    assert SECRET[:30] not in feed.last_error
    for page in (f"/staff/data/{dataset.slug}/feed/", f"/data/{dataset.slug}/"):
        text = staff_client(steward).get(page).content.decode()
        assert SECRET[:30] not in text


# --- the setting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ['["telraam-api.net"]', '{"telraam": "telraam-api.net"}', '{"telraam": [1]}', "{"]
)
def test_a_malformed_setting_stops_regiohub_at_start_up(monkeypatch, value):
    import regiohub.datasets.settings as module

    monkeypatch.setenv("REGIOHUB_DATASETS_FEED_HOSTS", value)
    try:
        with pytest.raises(ConfigurationError, match="REGIOHUB_DATASETS_FEED_HOSTS"):
            importlib.reload(module)
    finally:
        monkeypatch.delenv("REGIOHUB_DATASETS_FEED_HOSTS")
        importlib.reload(module)


def test_a_guarded_session_checks_every_hop_even_when_requests_follows_redirects():
    import requests

    from regiohub.datasets.feeds.addresses import guard_session

    sink_handler, sink = serve(lambda h: h.send_bytes(200, REPORT))
    with sink as sink_url:
        handler, server = redirecting(307, sink_url.replace("127.0.0.1", "localhost"))
        with server as url, allow_local_telraam():
            session = requests.Session()
            guard_session(session, host_policy("telraam", []), "Test")
            with pytest.raises(FeedAddressError, match="localhost is not an allowed host"):
                session.post(url, json={}, headers={"X-Api-Key": "k"}, allow_redirects=True)
    assert len(handler.received) == 1 and sink_handler.received == []
