"""Reading one page of a catalogue over HTTP, safely: where the harvester may connect, how
much it reads, and which RDF syntax an answer is in.

An administrator types a feed's address, and the catalogue it names decides where its
next page (``hydra:next``) and its redirects lead. Without limits, ``http://169.254.169.254``
(a cloud's metadata service) or ``http://127.0.0.1:5432`` would be asked, and the run's
error would tell what they answered. So (as the data platform's feeds do, decision 0016):

- Only ``http`` and ``https``, a host name, no user name or password.
- ``REGIOHUB_OPENDATA_HARVEST_HOSTS`` empty (the default): any host, but every connection
  is checked after it is made and before a byte is sent: the address the name resolved to
  must be public (not loopback, private, link-local, shared, reserved or multicast).
  Checking the connected socket, not a separate lookup, leaves no gap for a name that
  resolves differently the second time.
- The setting names hosts: only those (``host`` or ``host:port``), whatever they resolve
  to (an installation may name an internal mirror, and the tests name 127.0.0.1).
- Redirects are followed here, each hop checked the same way, at most
  :data:`MAX_REDIRECTS`, never from https to http.
- Behind a forward proxy set in the environment (``HTTPS_PROXY``) the proxy resolves the
  names, so the address cannot be checked: then the hosts must be named in the setting.
- An answer larger than ``REGIOHUB_OPENDATA_HARVEST_MAX_MB`` (counted as it arrives,
  unpacked) is refused, and so is a page that takes too long.

Errors name the page, the status and our reason; the remote body is never shown or stored.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urldefrag, urljoin, urlsplit

import requests
import structlog
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from regiohub.opendata.harvest.errors import (
    HarvestAddressError,
    HarvestDataError,
    HarvestError,
    HarvestTemporaryError,
)

log = structlog.get_logger(__name__)

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
#: A page may take this many times the time limit to arrive as a whole.
PAGE_TIME_FACTOR = 10
CHUNK = 64 * 1024
#: Characters no sane address holds, and on which URL parsers disagree.
_FORBIDDEN = frozenset("\\\x00\t\r\n ") | {chr(c) for c in range(0x20)} | {"\x7f"}

#: rdflib's name of each syntax, by the media types that name it unambiguously.
RDF_MEDIA_TYPES = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "text/n3": "n3",
}
#: Media types that may hold RDF (XML, JSON), read as the source's format says.
GENERIC_MEDIA_TYPES = {"application/xml": "xml", "text/xml": "xml", "application/json": "json-ld"}
#: Not a catalogue at all: a portal's web page, an error page.
HTML_MEDIA_TYPES = ("text/html", "application/xhtml+xml")
SUFFIXES = {
    ".ttl": "turtle",
    ".rdf": "xml",
    ".xml": "xml",
    ".owl": "xml",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".nt": "nt",
}
#: The source's ``format`` setting → rdflib's name.
FORMATS = {"turtle": "turtle", "rdfxml": "xml", "jsonld": "json-ld"}
SYNTAX_NAMES = {
    "turtle": "Turtle",
    "xml": "RDF/XML",
    "json-ld": "JSON-LD",
    "nt": "N-Triples",
    "n3": "N3",
}
ACCEPT = {
    "auto": "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8, "
    "application/n-triples;q=0.7, */*;q=0.1",
    "turtle": "text/turtle, */*;q=0.1",
    "rdfxml": "application/rdf+xml, */*;q=0.1",
    "jsonld": "application/ld+json, */*;q=0.1",
}


# --- Where the harvester may connect ----------------------------------------------------


def _host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _entry(text: str) -> tuple[str, int | None]:
    raw = text.strip()
    parts = urlsplit(raw if "://" in raw else f"//{raw}")
    host = _host(parts.hostname or "")
    if not host:
        raise ValueError(f"{text!r} is not a host name")
    return host, parts.port


@dataclass(frozen=True)
class Hosts:
    """The hosts an installation allows (``REGIOHUB_OPENDATA_HARVEST_HOSTS``); none named
    means any host with a public address."""

    entries: tuple[tuple[str, int | None], ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.entries)

    def allows(self, host: str, port: int | None) -> bool:
        if not self.configured:
            return True
        host = _host(host)
        return any(host == name and (only is None or only == port) for name, only in self.entries)

    @property
    def names(self) -> str:
        return ", ".join(
            (f"[{name}]" if ":" in name else name) + ("" if port is None else f":{port}")
            for name, port in self.entries
        )


def allowed_hosts(entries: Iterable[str] | None = None) -> Hosts:
    """The installation's list, read at call time (tests override the setting)."""
    chosen = settings.OPENDATA_HARVEST_HOSTS if entries is None else entries
    return Hosts(tuple(_entry(str(e)) for e in chosen if str(e).strip()))


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


def _parts(url: str) -> SplitResult | None:
    if not isinstance(url, str) or not url or any(c in _FORBIDDEN for c in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts


def url_problem(url: str, hosts: Hosts) -> str | None:
    """Why the harvester may not ask ``url`` (English, for the run's error), or None."""
    parts = _parts(url)
    if parts is None or parts.scheme.lower() not in SCHEMES or not parts.hostname:
        return "not a plain http(s) address"
    if "@" in parts.netloc:
        return "an address with a user name or password"
    port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
    host = _host(parts.hostname)
    if not hosts.allows(host, port):
        return (
            f"{host[:80]} is not an allowed host (REGIOHUB_OPENDATA_HARVEST_HOSTS: {hosts.names})"
        )
    if not hosts.configured and _is_ip(host) and internal(host):
        return f"{host[:80]} is an internal address"
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_peer(sock: socket.socket, host: str, hosts: Hosts) -> None:
    if hosts.configured:
        return
    try:
        peer = str(sock.getpeername()[0])
    except OSError:
        peer = ""
    if internal(peer):
        sock.close()
        raise HarvestAddressError(
            f"{_host(host)[:80]} resolves to an internal address; only a host named in "
            "REGIOHUB_OPENDATA_HARVEST_HOSTS may"
        )


def _pool_classes(hosts: Hosts) -> dict[str, type[HTTPConnectionPool]]:
    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _check_peer(sock, self.host, hosts)
            return sock

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _check_peer(sock, self.host, hosts)
            return sock

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


class GuardedAdapter(HTTPAdapter):
    """Connections that check the address they reached before anything is sent, and
    requests refused before they leave when their address is not allowed."""

    def __init__(self, hosts: Hosts, **kwargs: Any) -> None:
        self.hosts = hosts
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.hosts)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        problem = url_problem(str(request.url), self.hosts)
        if problem:
            raise HarvestAddressError(problem)
        return super().send(request, **kwargs)


def guarded_session(hosts: Hosts | None = None) -> requests.Session:
    session = requests.Session()
    adapter = GuardedAdapter(hosts or allowed_hosts())
    for prefix in list(session.adapters):
        del session.adapters[prefix]
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


# --- One page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page as it arrived: where from (after redirects), its bytes and its syntax
    (rdflib's name: ``turtle``, ``xml``, ``json-ld``, ``nt``, ``n3``)."""

    number: int
    url: str
    body: bytes
    syntax: str


def normalised(url: str) -> str:
    """``url`` without its fragment (the page, not a place in it)."""
    return urldefrag(url.strip())[0]


class PageReader:
    """Reads the pages of one run through one guarded session."""

    def __init__(
        self,
        fmt: str = "auto",
        *,
        hosts: Hosts | None = None,
        deadline: float | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.fmt = fmt if fmt in ACCEPT else "auto"
        self.hosts = hosts or allowed_hosts()
        self.session = session or guarded_session(self.hosts)
        self.timeout = float(settings.OPENDATA_HARVEST_TIMEOUT_SECONDS)
        self.max_bytes = int(settings.OPENDATA_HARVEST_MAX_MB) * 1024 * 1024
        #: ``time.monotonic()`` by which the whole run must be done (its lease).
        self.deadline = deadline

    def close(self) -> None:
        self.session.close()

    def read(self, url: str, number: int) -> Page:
        """Page ``number`` of the catalogue, following redirects to allowed addresses."""
        where = f"page {number}"
        url = normalised(url)
        for _hop in range(MAX_REDIRECTS + 1):
            problem = url_problem(url, self.hosts)
            if problem:
                raise HarvestAddressError(f"{where}: {problem}; nothing was sent there")
            if not self.hosts.configured and self.session.trust_env and get_environ_proxies(url):
                # The proxy would resolve the name: the address could not be checked.
                raise HarvestAddressError(
                    f"{where}: requests go through a proxy (HTTP(S)_PROXY), which hides the "
                    "address a host resolves to; name the allowed hosts in "
                    "REGIOHUB_OPENDATA_HARVEST_HOSTS"
                )
            response = self._get(url, where)
            try:
                if response.status_code in REDIRECTS:
                    url = self._redirect(url, response, where)
                    continue
                return self._page(url, response, number, where)
            finally:
                response.close()
        raise HarvestAddressError(f"{where}: more than {MAX_REDIRECTS} redirects")

    def _get(self, url: str, where: str) -> requests.Response:
        self._check_deadline(where)
        try:
            return self.session.get(
                url,
                headers={
                    "Accept": ACCEPT[self.fmt],
                    "User-Agent": "regiohub-harvester/1 (DCAT-AP)",
                },
                timeout=(self.timeout, self.timeout),
                allow_redirects=False,
                stream=True,
            )
        except HarvestError as exc:  # refused by the adapter or at the connection
            raise type(exc)(f"{where}: {exc}") from None
        except requests.Timeout:
            raise HarvestTemporaryError(
                f"{where}: the catalogue did not answer within {self.timeout:g} s"
            ) from None
        except requests.ConnectionError:
            raise HarvestTemporaryError(f"{where}: the catalogue could not be reached") from None
        except requests.RequestException as exc:
            raise HarvestError(f"{where}: the request failed ({type(exc).__name__})") from None

    def _redirect(self, url: str, response: requests.Response, where: str) -> str:
        location = response.headers.get("Location", "")
        if not location:
            raise HarvestDataError(
                f"{where}: a redirect without an address (HTTP {response.status_code})"
            )
        target = normalised(urljoin(url, location))
        problem = url_problem(target, self.hosts)
        if problem:
            raise HarvestAddressError(
                f"{where}: redirected to an address that is not allowed ({problem}); the "
                "redirect was not followed"
            )
        if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
            raise HarvestAddressError(
                f"{where}: redirected from https to http; the redirect was not followed"
            )
        return target

    def _page(self, url: str, response: requests.Response, number: int, where: str) -> Page:
        status = response.status_code
        if status >= 500 or status == 429:
            raise HarvestTemporaryError(f"{where}: HTTP {status} from the catalogue")
        if status != 200:
            raise HarvestDataError(f"{where}: HTTP {status} from the catalogue")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media_type in HTML_MEDIA_TYPES:
            raise HarvestDataError(
                f"{where}: the answer is a web page ({media_type}), not an RDF catalogue; "
                "check the feed address"
            )
        body = self._body(response, where)
        return Page(number, url, body, self._syntax(media_type, url, body))

    def _body(self, response: requests.Response, where: str) -> bytes:
        limit_mb = self.max_bytes // (1024 * 1024)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise HarvestDataError(
                f"{where}: the answer is larger than {limit_mb} MB "
                "(REGIOHUB_OPENDATA_HARVEST_MAX_MB); it was not read"
            )
        started = time.monotonic()
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise HarvestDataError(
                        f"{where}: the answer is larger than {limit_mb} MB "
                        "(REGIOHUB_OPENDATA_HARVEST_MAX_MB); reading stopped"
                    )
                if time.monotonic() - started > self.timeout * PAGE_TIME_FACTOR:
                    raise HarvestTemporaryError(
                        f"{where}: the page took longer than {self.timeout * PAGE_TIME_FACTOR:g} s "
                        "to arrive"
                    )
                self._check_deadline(where)
                chunks.append(chunk)
        except HarvestError:
            raise
        except requests.Timeout:
            raise HarvestTemporaryError(
                f"{where}: the catalogue stopped sending for {self.timeout:g} s"
            ) from None
        except (requests.RequestException, OSError) as exc:
            raise HarvestTemporaryError(
                f"{where}: the answer broke off ({type(exc).__name__})"
            ) from None
        return b"".join(chunks)

    def _syntax(self, media_type: str, url: str, body: bytes) -> str:
        if media_type in RDF_MEDIA_TYPES:
            return RDF_MEDIA_TYPES[media_type]
        if self.fmt in FORMATS:
            return FORMATS[self.fmt]
        if media_type in GENERIC_MEDIA_TYPES:
            return GENERIC_MEDIA_TYPES[media_type]
        path = urlsplit(url).path.lower()
        for suffix, syntax in SUFFIXES.items():
            if path.endswith(suffix):
                return syntax
        return sniff(body)

    def _check_deadline(self, where: str) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise HarvestTemporaryError(
                f"{where}: the run took longer than its lease "
                "(REGIOHUB_OPENDATA_HARVEST_LEASE_MINUTES); nothing changed"
            )


def sniff(body: bytes) -> str:
    """The syntax of an answer that did not say, from its first bytes."""
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")):
        return "json-ld"
    if head.startswith(b"<?xml") or head.startswith(b"<rdf:RDF") or b"<rdf:RDF" in head:
        return "xml"
    return "turtle"  # Turtle (and N-Triples); the parser says clearly when it is neither
