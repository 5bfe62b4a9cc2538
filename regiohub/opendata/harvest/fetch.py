"""Reading one page of a catalogue over HTTP, safely: where the harvester may connect, how
much it reads, and which RDF syntax an answer is in.

An administrator types a feed's address, and the catalogue it names decides where its
next page (``hydra:next``) and its redirects lead. Without limits, ``http://169.254.169.254``
(a cloud's metadata service) or ``http://127.0.0.1:5432`` would be asked, and the run's
error would tell what they answered. So (with the guard the data platform's feeds use,
:mod:`regiohub.core.outbound`; decision 0016):

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

import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

import requests
import structlog
from django.conf import settings
from requests.utils import get_environ_proxies

from regiohub.core import outbound
from regiohub.core.outbound import DEFAULT_PORTS as DEFAULT_PORTS
from regiohub.core.outbound import SCHEMES as SCHEMES
from regiohub.core.outbound import HostPolicy, Reason, Refusal
from regiohub.core.outbound import internal as internal
from regiohub.opendata.harvest.errors import (
    HarvestAddressError,
    HarvestDataError,
    HarvestError,
    HarvestTemporaryError,
)

log = structlog.get_logger(__name__)

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
#: A page may take this many times the time limit to arrive as a whole.
PAGE_TIME_FACTOR = 10
CHUNK = 64 * 1024

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
# The guard is regiohub.core.outbound; SCHEMES, DEFAULT_PORTS and internal are imported
# from there ``as`` themselves because the admin's form and the tests read them here.

SETTING = "REGIOHUB_OPENDATA_HARVEST_HOSTS"


def allowed_hosts(entries: Iterable[str] | None = None) -> HostPolicy:
    """The installation's list, read at call time (tests override the setting); none named
    means any host with a public address."""
    chosen = settings.OPENDATA_HARVEST_HOSTS if entries is None else entries
    hosts = outbound.entries(e for e in chosen if str(e).strip())
    return HostPolicy(hosts=hosts or None, setting=SETTING, configured=bool(hosts))


def _english(found: Refusal) -> str:
    """A refusal in English, for the run's error."""
    if found.reason is Reason.USERINFO:
        return "an address with a user name or password"
    if found.reason is Reason.HOST:
        return f"{found.host} is not an allowed host ({SETTING}: {found.policy.names})"
    if found.reason is Reason.INTERNAL:
        return f"{found.host} is an internal address"
    if found.reason is Reason.RESOLVES_INTERNAL:
        return f"{found.host} resolves to an internal address; only a host named in {SETTING} may"
    return "not a plain http(s) address"


def url_problem(url: str, hosts: HostPolicy) -> str | None:
    """Why the harvester may not ask ``url`` (English, for the run's error), or None."""
    found = outbound.refusal(url, hosts)
    return None if found is None else _english(found)


def guarded_session(hosts: HostPolicy | None = None) -> requests.Session:
    """A session whose requests and connections are checked against ``hosts`` (default:
    the installation's list)."""
    return outbound.guarded_session(
        hosts or allowed_hosts(), lambda found: HarvestAddressError(_english(found))
    )


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
        hosts: HostPolicy | None = None,
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
