"""Where regiohub may connect on behalf of a user: one guard against server-side request
forgery for every integration that asks an address someone typed (a feed's API, a
catalogue to harvest).

Without a guard, ``http://169.254.169.254`` (a cloud's metadata service) or
``http://127.0.0.1:5432`` (an internal server) would be asked with our keys, and the
error shown would tell what they answered. So every outbound address goes through a
:class:`HostPolicy`:

- Only ``http`` and ``https``, a host, no user name or password, none of the characters
  URL parsers disagree on; with ``bare`` also no query or fragment (an API's base address).
- ``hosts``: the allow-list. An entry is a host name or IP address (``example.org``,
  ``127.0.0.1``, ``[::1]``), optionally with a port (``proxy.intern:8443``: only that port);
  without a port any port. ``None`` means any host with a public address.
- ``configured``: the list was named by the installation (its setting), so its hosts may
  resolve to internal addresses (a proxy, a mirror, a test server). Otherwise an IP
  literal must be public (:func:`refusal`) and so must the address every connection
  reaches: the connected socket's peer is checked after connecting and before a byte is
  sent (:class:`GuardedAdapter`), which leaves no gap for a name that resolves differently
  the second time (DNS rebinding). Through a proxy set in the environment (``HTTPS_PROXY``)
  the peer is the proxy.
- A session guarded by :func:`guard` checks every request against the policy in its
  adapter, so each hop of a redirect that ``requests`` follows is checked too; callers that
  follow redirects themselves check the target with :func:`refusal` before asking it.

:func:`refusal` says why an address is refused as data (:class:`Refusal`), so each caller
words it for its readers: :func:`url_problem` (and ``str(refusal)``) gives a translated
sentence for the person who typed the address; a stored error may want plain English.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from django.utils.translation import gettext_lazy
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
#: A host as it is shown in a message: at most this many characters.
SHOWN_HOST = 80
#: Characters that no sane address holds, and on which URL parsers disagree.
_FORBIDDEN = frozenset("\\\x00\t\r\n ") | {chr(c) for c in range(0x20)} | {"\x7f"}

#: ``(host, port or None)``: one entry of an allow-list; ``None`` allows any port.
Entry = tuple[str, int | None]


def host_name(host: str) -> str:
    """``host`` as allow-lists compare it: lower case, without brackets or a final dot."""
    return host.strip().strip("[]").rstrip(".").lower()


def entry(text: str) -> Entry:
    """The ``(host, port or None)`` of an allow-list entry (``host``, ``host:port``,
    ``[::1]:8080``); ValueError when it names no host or an invalid port."""
    raw = text.strip()
    parts = urlsplit(raw if "://" in raw else f"//{raw}")
    host = host_name(parts.hostname or "")
    if not host:
        raise ValueError(f"{text!r} is not a host name")
    return host, parts.port


def entries(texts: Iterable[object]) -> tuple[Entry, ...]:
    """The entries of a list as a setting gives it."""
    return tuple(entry(str(text)) for text in texts)


@dataclass(frozen=True)
class HostPolicy:
    """Where one kind of integration may connect (see the module's docstring)."""

    #: The allowed hosts; ``None``: any host with a public address.
    hosts: tuple[Entry, ...] | None
    #: The setting that names the hosts (``REGIOHUB_..._HOSTS``), for messages.
    setting: str
    #: Named by the installation: these hosts may resolve to internal addresses.
    configured: bool = False
    #: The address alone: no query or fragment (an API's base address).
    bare: bool = False
    #: What connects (``telraam``), for messages.
    kind: str = ""

    def __post_init__(self) -> None:
        if self.hosts is None and self.configured:
            raise ValueError("a policy that allows any host must check the addresses")

    def allows(self, host: str, port: int | None) -> bool:
        """Whether ``host`` (on ``port``) is on the list."""
        if self.hosts is None:
            return True
        host = host_name(host)
        return any(host == name and (only is None or only == port) for name, only in self.hosts)

    @property
    def names(self) -> str:
        """The list as people read it (``-`` when it allows nothing)."""
        shown = [
            (f"[{name}]" if ":" in name else name) + ("" if port is None else f":{port}")
            for name, port in self.hosts or ()
        ]
        return ", ".join(shown) or "-"


class Reason(StrEnum):
    """Why an address is refused."""

    #: Not an address: no host, a port that is not a number, characters parsers disagree on.
    ADDRESS = "address"
    #: Not ``http`` or ``https``.
    SCHEME = "scheme"
    #: A user name or password (``https://allowed@169.254.169.254``).
    USERINFO = "userinfo"
    #: A query or fragment where the policy wants the address alone.
    QUERY = "query"
    #: A host (or port) off the list.
    HOST = "host"
    #: An IP address that is not public, and the list was not named by the installation.
    INTERNAL = "internal"
    #: The connection reached an address that is not public (found after connecting).
    RESOLVES_INTERNAL = "resolves-internal"


@dataclass(frozen=True)
class Refusal:
    """An address refused by ``policy``; ``host`` as shown (at most :data:`SHOWN_HOST`
    characters, empty when there is none). ``str()`` gives the translated reason."""

    reason: Reason
    policy: HostPolicy
    host: str = ""

    def __str__(self) -> str:
        return str(MESSAGES[self.reason]) % {
            "host": self.host,
            "hosts": self.policy.names,
            "setting": self.policy.setting,
        }


#: Each reason for the person who typed the address.
MESSAGES = {
    Reason.ADDRESS: gettext_lazy("Enter a valid http or https address."),
    Reason.SCHEME: gettext_lazy("Only http and https addresses are allowed."),
    Reason.USERINFO: gettext_lazy("The address may not hold a user name or password."),
    Reason.QUERY: gettext_lazy("Enter the address alone, without a query or fragment."),
    Reason.HOST: gettext_lazy(
        "“%(host)s” is not an allowed host. Allowed: %(hosts)s. An administrator can change "
        "the list with %(setting)s."
    ),
    Reason.INTERNAL: gettext_lazy(
        "“%(host)s” is an internal address: only a host named in %(setting)s may be one."
    ),
    Reason.RESOLVES_INTERNAL: gettext_lazy(
        "“%(host)s” resolves to an internal address: only a host named in %(setting)s may do so."
    ),
}


def _parts(url: str) -> SplitResult | None:
    if not isinstance(url, str) or not url or any(c in _FORBIDDEN for c in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts


def refusal(url: str, policy: HostPolicy) -> Refusal | None:
    """Why ``policy`` refuses ``url``, or None when it may be asked: the first reason that
    applies, in the order :class:`Reason` lists them (a missing host counts as
    :attr:`Reason.ADDRESS` after the scheme)."""
    parts = _parts(url)
    if parts is None:
        return Refusal(Reason.ADDRESS, policy)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        return Refusal(Reason.SCHEME, policy)
    if not parts.hostname:
        return Refusal(Reason.ADDRESS, policy)
    host = host_name(parts.hostname)
    shown = host[:SHOWN_HOST]
    if "@" in parts.netloc:
        return Refusal(Reason.USERINFO, policy, shown)
    if policy.bare and (parts.query or parts.fragment or "?" in url or "#" in url):
        return Refusal(Reason.QUERY, policy, shown)
    if not policy.allows(host, parts.port or DEFAULT_PORTS[scheme]):
        return Refusal(Reason.HOST, policy, shown)
    if not policy.configured and is_ip(host) and internal(host):
        return Refusal(Reason.INTERNAL, policy, shown)
    return None


def url_problem(url: str, policy: HostPolicy) -> str | None:
    """Why ``url`` may not be asked, translated for the person who typed it, or None."""
    found = refusal(url, policy)
    return None if found is None else str(found)


def is_ip(host: str) -> bool:
    """Whether ``host`` is an IP address rather than a name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def internal(address: str) -> bool:
    """True for an address that is not on the public internet: loopback, private,
    link-local (cloud metadata), shared, reserved, multicast, unspecified; an IPv4 address
    mapped into IPv6 counts as itself. Anything that is not an address counts as internal."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


# --- The guarded session ------------------------------------------------------------------

#: Builds the caller's exception for a refusal (raised by the adapter and the connections).
Refuse = Callable[[Refusal], Exception]


class AddressRefused(Exception):
    """A request refused by the guard, when the caller names no exception of its own."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


def _check_peer(sock: socket.socket, host: str, policy: HostPolicy, refuse: Refuse) -> None:
    if policy.configured:
        return
    try:
        peer = str(sock.getpeername()[0])
    except OSError:
        peer = ""
    if internal(peer):
        sock.close()
        raise refuse(Refusal(Reason.RESOLVES_INTERNAL, policy, host_name(host)[:SHOWN_HOST]))


def _pool_classes(policy: HostPolicy, refuse: Refuse) -> dict[str, type[HTTPConnectionPool]]:
    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _check_peer(sock, self.host, policy, refuse)
            return sock

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _check_peer(sock, self.host, policy, refuse)
            return sock

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


class GuardedAdapter(HTTPAdapter):
    """An adapter that refuses a request whose address ``policy`` refuses, before it
    leaves, and whose connections check the address they reached before anything is sent.
    Refusals raise ``refuse(refusal)``."""

    def __init__(self, policy: HostPolicy, refuse: Refuse = AddressRefused, **kwargs: Any) -> None:
        self.policy = policy
        self.refuse = refuse
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.policy, self.refuse)

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        found = refusal(str(request.url), self.policy)
        if found is not None:
            raise self.refuse(found)
        return super().send(request, *args, **kwargs)


def guard(session: requests.Session, policy: HostPolicy, refuse: Refuse = AddressRefused) -> None:
    """Make every request of ``session`` go through a :class:`GuardedAdapter` (and only
    through it: the session's other adapters are removed)."""
    adapter = GuardedAdapter(policy, refuse)
    for prefix in list(session.adapters):
        del session.adapters[prefix]
    session.mount("https://", adapter)
    session.mount("http://", adapter)


def guarded_session(policy: HostPolicy, refuse: Refuse = AddressRefused) -> requests.Session:
    """A new session guarded by :func:`guard`."""
    session = requests.Session()
    guard(session, policy, refuse)
    return session
