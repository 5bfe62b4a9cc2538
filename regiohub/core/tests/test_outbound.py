"""The outbound address guard refuses what is not a plain http(s) address, a host or port
off the list, a user name in the address and an internal address (as an IP literal, or
as the address a connection reached), and checks every hop of a redirect; a host the
installation named may be internal."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from django.utils import translation

from regiohub.core import outbound
from regiohub.core.outbound import (
    AddressRefused,
    HostPolicy,
    Reason,
    entries,
    entry,
    guard,
    guarded_session,
    internal,
    refusal,
    url_problem,
)
from regiohub.core.testing import FakeHandler, local_server

SETTING = "REGIOHUB_TEST_HOSTS"


def listed(*hosts: str, configured: bool = False, bare: bool = False) -> HostPolicy:
    return HostPolicy(entries(hosts), SETTING, configured=configured, bare=bare)


#: Any host with a public address, as the harvester without a list.
OPEN = HostPolicy(None, SETTING)


def reason(url: str, policy: HostPolicy) -> Reason | None:
    found = refusal(url, policy)
    return None if found is None else found.reason


# --- addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",  # a cloud's metadata service
        "100.64.0.1",  # shared (carrier-grade NAT)
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "240.0.0.1",  # reserved
        "224.0.0.1",  # multicast
        "255.255.255.255",
        "::",
        "::1",
        "fe80::1",
        "fe80::1%eth0",
        "fd00::1",  # unique local (ULA)
        "fc12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped IPv6
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "localhost",  # not an address at all
        "",
    ],
)
def test_internal_addresses(address):
    assert internal(address)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "193.191.200.10", "2001:4860:4860::8888", "::ffff:8.8.8.8"]
)
def test_public_addresses(address):
    assert not internal(address)


# --- entries and ports -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("Example.ORG.", ("example.org", None)),
        (" proxy.intern:8443 ", ("proxy.intern", 8443)),
        ("127.0.0.1", ("127.0.0.1", None)),
        ("[::1]", ("::1", None)),
        ("[::1]:8080", ("::1", 8080)),
        ("https://example.org:444/path", ("example.org", 444)),
    ],
)
def test_an_entry_is_a_host_with_an_optional_port(text, parsed):
    assert entry(text) == parsed


@pytest.mark.parametrize("text", ["", "  ", ":8080", "example.org:http", "example.org:99999"])
def test_an_entry_without_a_host_or_with_a_bad_port_is_an_error(text):
    with pytest.raises(ValueError):
        entry(text)


def test_a_port_in_an_entry_allows_only_that_port():
    policy = listed("proxy.intern:8443", "example.org", "[::1]:8080", "plain.example:80")
    assert reason("https://proxy.intern:8443/api", policy) is None
    assert reason("https://proxy.intern/api", policy) is Reason.HOST  # 443
    assert reason("http://proxy.intern:8080/", policy) is Reason.HOST
    assert reason("https://example.org:1/", policy) is None  # no port: any port
    assert reason("http://plain.example/", policy) is None  # the scheme's port
    assert reason("https://plain.example/", policy) is Reason.HOST
    named = listed("[::1]:8080", configured=True)
    assert (reason("http://[::1]:8080/", named), reason("http://[::1]:8081/", named)) == (
        None,
        Reason.HOST,
    )
    assert policy.names == "proxy.intern:8443, example.org, [::1]:8080, plain.example:80"
    assert listed().names == "-"


def test_hosts_compare_without_case_brackets_or_a_final_dot():
    policy = listed("telraam-api.net")
    for url in (
        "https://TELRAAM-API.NET./",
        "https://telraam-api.net/v1",
        "http://telraam-api.net",
    ):
        assert refusal(url, policy) is None, url
    for url in (
        "https://telraam-api.net.evil.example/",
        "https://evil.example/telraam-api.net",
        "https://xtelraam-api.net/",
    ):
        assert reason(url, policy) is Reason.HOST, url


# --- what is refused, and why -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "javascript:alert(1)",
        "data:text/html,hi",
        "example.org/path",
        "//example.org/path",
    ],
)
def test_only_http_and_https_are_allowed(url):
    assert reason(url, OPEN) is Reason.SCHEME


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org@169.254.169.254/",
        "http://example.org:secret@127.0.0.1/",
        "https://user@example.org/",
        "https://@example.org/",
    ],
)
def test_a_user_name_or_password_is_refused(url):
    assert reason(url, listed("example.org", "169.254.169.254", "127.0.0.1")) is Reason.USERINFO


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://",
        "https:///path",
        "http://example.org:port/",
        "http://example.org:99999/",
        "http://exa mple.org/",
        "http://example.org\x00.evil.example/",
        "http://example.org\\@evil.example/",
        "http://example.org/\r\nHost: evil",
    ],
)
def test_what_is_not_a_plain_address_is_refused(url):
    assert reason(url, OPEN) is Reason.ADDRESS


def test_a_bare_policy_refuses_a_query_or_fragment():
    for url in (
        "https://example.org/?next=http://127.0.0.1",
        "https://example.org/#x",
        "https://example.org/?",
    ):
        assert reason(url, listed("example.org", bare=True)) is Reason.QUERY, url
        assert reason(url, listed("example.org")) is None, url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8191/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]:8191/",
        "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",  # 169.254.169.254, mapped
        "http://[fe80::1%25eth0]/",
    ],
)
def test_an_internal_ip_is_refused_unless_the_installation_named_it(url):
    assert reason(url, OPEN) is Reason.INTERNAL
    host = urlsplit(url).netloc
    assert reason(url, listed(host)) is Reason.INTERNAL  # a built-in list: public only
    assert refusal(url, listed(host, configured=True)) is None


def test_an_open_policy_allows_any_public_host():
    assert refusal("https://data.kortrijk.example/catalog.ttl?page=2", OPEN) is None
    assert refusal("http://8.8.8.8/", OPEN) is None
    with pytest.raises(ValueError):
        HostPolicy(None, SETTING, configured=True)  # any host, unchecked: never


def test_each_reason_is_said_in_its_own_words_and_translated():
    policy = listed("example.org:8443", bare=True)
    urls = {
        Reason.ADDRESS: "http://exa mple.org",
        Reason.SCHEME: "ftp://example.org",
        Reason.USERINFO: "https://me@example.org:8443",
        Reason.QUERY: "https://example.org:8443/?x",
        Reason.HOST: "https://evil.example",
        Reason.INTERNAL: "http://[::1]/",
    }
    with translation.override("en"):
        said = {found: url_problem(url, policy) for found, url in urls.items()}
    assert len(set(said.values())) == len(urls)
    assert said[Reason.HOST] == (
        "“evil.example” is not an allowed host. Allowed: example.org:8443. An administrator "
        f"can change the list with {SETTING}."
    )
    assert said[Reason.INTERNAL] is not None and SETTING in said[Reason.INTERNAL]
    assert url_problem("https://example.org:8443/v1", policy) is None
    with translation.override("en"):
        long = str(refusal("https://" + "a" * 300 + ".example", policy))
    assert "a" * 80 in long and "a" * 81 not in long


# --- the guarded session -----------------------------------------------------------------


def serve(status: int = 200, location: str = ""):
    """A local server answering every GET with ``status`` (and a ``Location``)."""

    class Handler(FakeHandler):
        received: list = []

        def do_GET(self) -> None:
            self.read_request()
            self.send_bytes(status, b"{}", {"Location": location} if location else {})

    Handler.received = []
    return Handler, local_server(Handler, poll_interval=0.05)


def test_a_named_internal_host_is_asked():
    handler, server = serve()
    with server as url:
        session = guarded_session(listed("127.0.0.1", configured=True))
        assert session.get(url + "/x", timeout=5).status_code == 200
    assert [r.path for r in handler.received] == ["/x"]


def test_an_internal_ip_is_refused_before_connecting():
    handler, server = serve()
    with server as url, pytest.raises(AddressRefused) as caught:
        guarded_session(OPEN).get(url, timeout=5)
    assert caught.value.refusal.reason is Reason.INTERNAL
    assert handler.received == []


@pytest.mark.parametrize("policy", [OPEN, listed("localhost")])
def test_a_name_resolving_to_an_internal_address_is_refused_before_sending(policy):
    # "localhost" stands in for a public name whose DNS answer was changed to point inside.
    handler, server = serve()
    with server as url, pytest.raises(AddressRefused) as caught:
        guarded_session(policy).get(url.replace("127.0.0.1", "localhost"), timeout=5)
    assert caught.value.refusal.reason is Reason.RESOLVES_INTERNAL
    assert caught.value.refusal.host == "localhost"
    assert handler.received == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_each_redirect_hop_is_checked(status):
    sink, sink_server = serve()
    with sink_server as sink_url:
        port = int(sink_url.rsplit(":", 1)[1])
        for target in (
            "http://169.254.169.254/latest/meta-data/",  # a private address, not listed
            sink_url + "/other-port",  # the same host, a port that is not listed
            sink_url.replace("127.0.0.1", "localhost"),  # another name for it
        ):
            handler, server = serve(status, target)
            with server as url:
                own_port = int(url.rsplit(":", 1)[1])
                assert own_port != port
                session = guarded_session(listed(f"127.0.0.1:{own_port}", configured=True))
                with pytest.raises(AddressRefused) as caught:
                    session.get(url, timeout=5, allow_redirects=True)
            assert caught.value.refusal.reason is Reason.HOST, target
            assert len(handler.received) == 1
    assert sink.received == []


def test_a_redirect_to_a_private_address_is_refused_without_a_list(monkeypatch):
    # The local server stands in for a public one: only its address counts as public.
    real = outbound.internal
    monkeypatch.setattr(outbound, "internal", lambda a: a != "127.0.0.1" and real(a))
    for target in (
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00::1]/",
        "http://10.0.0.1/",
    ):
        handler, server = serve(302, target)
        with server as url, pytest.raises(AddressRefused) as caught:
            guarded_session(OPEN).get(url, timeout=5, allow_redirects=True)
        assert caught.value.refusal.reason is Reason.INTERNAL, target
        assert len(handler.received) == 1


def test_guard_replaces_every_adapter_and_raises_the_callers_error():
    class Refused(Exception):
        pass

    session = requests.Session()
    guard(session, listed("example.org"), lambda found: Refused(found.reason))
    assert {type(a) for a in session.adapters.values()} == {outbound.GuardedAdapter}
    with pytest.raises(Refused, match="host"):
        session.get("https://evil.example/", timeout=5)
