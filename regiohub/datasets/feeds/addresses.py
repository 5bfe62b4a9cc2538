"""Where a feed may connect: an allow-list of hosts per feed kind, against server-side
request forgery.

A data steward types a feed's API address, and the worker sends the feed's key there and
shows what went wrong. Without a list, ``http://169.254.169.254`` (a cloud's metadata
service) or ``http://127.0.0.1:8191`` (an internal server) would get the key. So:

- The address must be ``http`` or ``https`` with a host on the kind's list: the real
  service's hosts (``Feed.hosts``), or the list an installation sets for that kind in
  ``REGIOHUB_DATASETS_FEED_HOSTS`` (it replaces the built-in one). No user name, password,
  query or fragment. Checked when the settings are saved (the settings form) and again
  before every request (:func:`url_problem`), so a feed saved before the list changed
  stops too.
- Every connection is checked after it is made and before a byte is sent
  (:func:`guard_session`): the address the host name resolved to must be a public one,
  unless the host was named by the installation (a host in the setting may be internal: a
  proxy, a test server). Checking the connected socket, not a separate lookup, leaves no
  gap for a name that resolves differently the second time. (Through a proxy set in the
  environment, ``HTTPS_PROXY``, the proxy resolves the name; the host is still checked.)
- Every request, also each hop of a redirect, is checked against the list by the session's
  adapter; a feed follows a redirect itself, only to an allowed address (see the Telraam
  client).

An entry is a host name or IP address (``telraam-api.net``, ``127.0.0.1``, ``[::1]``),
optionally with a port (``proxy.intern:8443``: only that port); without a port any port.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from regiohub.datasets.feeds.base import FeedAddressError

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
#: Characters that no sane API address holds, and on which URL parsers disagree.
_FORBIDDEN = frozenset("\\\x00\t\r\n ") | {chr(c) for c in range(0x20)} | {"\x7f"}


def _entry(text: str) -> tuple[str, int | None]:
    """``(host, port or None)`` of an allow-list entry."""
    raw = text.strip()
    parts = urlsplit(raw if "://" in raw else f"//{raw}")
    host = _host(parts.hostname or "")
    if not host:
        raise ValueError(f"{text!r} is not a host name")
    return host, parts.port


def _host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class HostPolicy:
    """The hosts one kind of feed may connect to."""

    kind: str
    hosts: tuple[tuple[str, int | None], ...]
    #: Named by the installation (``REGIOHUB_DATASETS_FEED_HOSTS``): these hosts may
    #: resolve to internal addresses. The built-in lists must resolve to public ones.
    configured: bool

    def allows(self, host: str, port: int | None) -> bool:
        host = _host(host)
        return any(host == name and (only is None or only == port) for name, only in self.hosts)

    @property
    def names(self) -> str:
        """The list as people read it."""
        shown = [
            (f"[{name}]" if ":" in name else name) + ("" if port is None else f":{port}")
            for name, port in self.hosts
        ]
        return ", ".join(shown) or "-"


def host_policy(kind: str, defaults: Iterable[str]) -> HostPolicy:
    """The list of ``kind``: the installation's (``REGIOHUB_DATASETS_FEED_HOSTS``) when it
    names the kind, else ``defaults`` (the real service's hosts). Read at call time."""
    configured = dict(getattr(settings, "DATASETS_FEED_HOSTS", {}) or {})
    entries = configured.get(kind)
    chosen = entries if entries is not None else list(defaults)
    return HostPolicy(
        kind=kind,
        hosts=tuple(_entry(str(entry)) for entry in chosen),
        configured=entries is not None,
    )


def _parts(url: str) -> SplitResult | None:
    if not isinstance(url, str) or not url or any(c in _FORBIDDEN for c in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts


def url_problem(url: str, policy: HostPolicy) -> str | None:
    """Why a feed may not use ``url`` (translated, for the person who typed it), or None."""
    parts = _parts(url)
    if (
        parts is None
        or parts.scheme.lower() not in SCHEMES
        or not parts.hostname
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
        or "?" in url
        or "#" in url
    ):
        return _(
            "Enter the address of the API alone: http or https and a host name, without a "
            "user name, password, query or fragment."
        )
    port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
    if not policy.allows(parts.hostname, port):
        return _(
            "“%(host)s” is not an allowed host for this feed. Allowed: %(hosts)s. An "
            "administrator can change the list with REGIOHUB_DATASETS_FEED_HOSTS."
        ) % {"host": parts.hostname[:80], "hosts": policy.names}
    return None


def check_url(url: str, policy: HostPolicy, source: str) -> None:
    """Raise :class:`FeedAddressError` (in English, like every feed error) unless a feed
    of ``policy.kind`` may send a request to ``url``; ``source`` names the service."""
    parts = _parts(url)
    if parts is None or parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise FeedAddressError(f"{source}: the API address is not a plain http(s) address")
    if "@" in parts.netloc or parts.query or parts.fragment or "?" in url or "#" in url:
        raise FeedAddressError(
            f"{source}: the API address may not hold a user name, password, query or fragment"
        )
    port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
    if not policy.allows(parts.hostname, port):
        raise FeedAddressError(
            f"{source}: {parts.hostname[:80]} is not an allowed host for {policy.kind} feeds "
            f"(allowed: {policy.names}; see REGIOHUB_DATASETS_FEED_HOSTS)"
        )


def internal(address: str) -> bool:
    """True for an address that is not on the public internet: loopback, private,
    link-local (cloud metadata), shared, reserved, multicast, unspecified."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _check_peer(sock: socket.socket, host: str, policy: HostPolicy) -> None:
    try:
        peer = sock.getpeername()[0]
    except OSError:
        peer = ""
    if internal(str(peer)) and not policy.configured:
        sock.close()
        raise FeedAddressError(
            f"{_host(host)[:80]} resolves to an internal address; only a host named in "
            "REGIOHUB_DATASETS_FEED_HOSTS may"
        )


def _pool_classes(policy: HostPolicy) -> dict[str, type[HTTPConnectionPool]]:
    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _check_peer(sock, self.host, policy)
            return sock

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _check_peer(sock, self.host, policy)
            return sock

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


class GuardedAdapter(HTTPAdapter):
    """An adapter whose connections check the address they reached before anything is
    sent, and which refuses a request to a host off the list."""

    def __init__(self, policy: HostPolicy, source: str, **kwargs: Any) -> None:
        self.policy = policy
        self.source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.policy)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        check_url(str(request.url), self.policy, self.source)
        return super().send(request, **kwargs)


def guard_session(session: requests.Session, policy: HostPolicy, source: str) -> None:
    """Make every request of ``session`` go through a :class:`GuardedAdapter`, which also
    checks each hop of a redirect that ``requests`` would follow (callers pass
    ``allow_redirects=False`` and decide themselves)."""
    adapter = GuardedAdapter(policy, source)
    for prefix in list(session.adapters):
        del session.adapters[prefix]
    session.mount("https://", adapter)
    session.mount("http://", adapter)
