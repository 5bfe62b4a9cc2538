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

The guard itself is :mod:`regiohub.core.outbound`, shared with the open data harvester;
this module gives it the feed kinds' lists and words its refusals for feeds.
"""

from __future__ import annotations

from collections.abc import Iterable

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from regiohub.core import outbound
from regiohub.core.outbound import HostPolicy, Reason, Refusal, internal
from regiohub.datasets.feeds.base import FeedAddressError

__all__ = ["HostPolicy", "check_url", "guard_session", "host_policy", "internal", "url_problem"]

SETTING = "REGIOHUB_DATASETS_FEED_HOSTS"
#: Refused as "not the address of the API alone", in one message.
_NOT_ALONE = (Reason.ADDRESS, Reason.SCHEME, Reason.USERINFO, Reason.QUERY)


def host_policy(kind: str, defaults: Iterable[str]) -> HostPolicy:
    """The list of ``kind``: the installation's (``REGIOHUB_DATASETS_FEED_HOSTS``) when it
    names the kind, else ``defaults`` (the real service's hosts). Read at call time."""
    configured = dict(getattr(settings, "DATASETS_FEED_HOSTS", {}) or {})
    entries = configured.get(kind)
    chosen = entries if entries is not None else list(defaults)
    return HostPolicy(
        hosts=outbound.entries(chosen),
        setting=SETTING,
        configured=entries is not None,
        bare=True,
        kind=kind,
    )


def url_problem(url: str, policy: HostPolicy) -> str | None:
    """Why a feed may not use ``url`` (translated, for the person who typed it), or None."""
    found = outbound.refusal(url, policy)
    if found is None:
        return None
    if found.reason in _NOT_ALONE:
        return _(
            "Enter the address of the API alone: http or https and a host name, without a "
            "user name, password, query or fragment."
        )
    if found.reason is Reason.HOST:
        return _(
            "“%(host)s” is not an allowed host for this feed. Allowed: %(hosts)s. An "
            "administrator can change the list with REGIOHUB_DATASETS_FEED_HOSTS."
        ) % {"host": found.host, "hosts": policy.names}
    return str(found)


def _error(found: Refusal, source: str) -> FeedAddressError:
    """A refusal in English, like every feed error; ``source`` names the service."""
    reason, host, policy = found.reason, found.host, found.policy
    if reason in (Reason.ADDRESS, Reason.SCHEME):
        text = f"{source}: the API address is not a plain http(s) address"
    elif reason in (Reason.USERINFO, Reason.QUERY):
        text = f"{source}: the API address may not hold a user name, password, query or fragment"
    elif reason is Reason.HOST:
        text = (
            f"{source}: {host} is not an allowed host for {policy.kind} feeds "
            f"(allowed: {policy.names}; see {SETTING})"
        )
    elif reason is Reason.INTERNAL:
        text = f"{source}: {host} is an internal address; only a host named in {SETTING} may be one"
    else:
        text = f"{host} resolves to an internal address; only a host named in {SETTING} may"
    return FeedAddressError(text)


def check_url(url: str, policy: HostPolicy, source: str) -> None:
    """Raise :class:`FeedAddressError` (in English, like every feed error) unless a feed
    of ``policy.kind`` may send a request to ``url``; ``source`` names the service."""
    found = outbound.refusal(url, policy)
    if found is not None:
        raise _error(found, source)


def guard_session(session: requests.Session, policy: HostPolicy, source: str) -> None:
    """Make every request of ``session`` go through a guarded adapter, which checks the
    address each connection reached and each hop of a redirect that ``requests`` would
    follow (callers pass ``allow_redirects=False`` and decide themselves)."""
    outbound.guard(session, policy, lambda found: _error(found, source))
