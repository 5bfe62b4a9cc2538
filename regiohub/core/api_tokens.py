"""Personal API tokens: created, checked, used and revoked.

A token is ``rh_`` and 8 letters or digits (its public prefix, shown in lists) followed by
``_`` and a 256-bit random secret. Only its SHA-256 is stored; a token is found by its
prefix and compared in constant time. What a request with a token reaches is what its
owner holds *now*, narrowed to the token's scope (``core.access.limit_to_token``). See
docs/decisions/0025-personal-api-tokens.md.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.throttling import BaseThrottle

from regiohub.core import access, history
from regiohub.core.history import CoreAction
from regiohub.core.models import ApiToken, Membership, Organisation, TokenScope
from regiohub.core.roles import MANAGE_ORGANISATION

log = structlog.get_logger(__name__)

PREFIX = "rh_"
#: ``rh_`` and 8 characters: the part of a token shown in lists.
PREFIX_LENGTH = len(PREFIX) + 8
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_SHAPE = re.compile(r"^rh_[a-z0-9]{8}_[A-Za-z0-9_-]{32,64}$")

#: How long a new token lasts, in days; the form offers these, a year by default.
EXPIRY_DAYS = (30, 90, 180, 365)
DEFAULT_EXPIRY_DAYS = 365
#: Most tokens one person may have that are neither revoked nor expired.
MAX_ACTIVE_TOKENS = 25
#: Usage (last used, from where, how often) is written at most this often per token and
#: server process; the uses between two writes are added up in memory.
USE_WRITE_SECONDS = 60.0

EXPIRY_CHOICES = [
    (30, gettext_lazy("30 days")),
    (90, gettext_lazy("90 days")),
    (180, gettext_lazy("180 days")),
    (365, gettext_lazy("1 year")),
]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    prefix = PREFIX + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


# --- What a person may choose, see and revoke -------------------------------------------


def organisation_choices(user: Any) -> QuerySet[Organisation]:
    """The organisations a token of ``user`` may be limited to: those they hold a role in
    (every organisation for a superuser)."""
    if user.is_superuser:
        return Organisation.objects.order_by("kind", "name")
    ids = Membership.objects.filter(user=user).values("organisation_id")
    return Organisation.objects.filter(pk__in=ids).order_by("kind", "name")


def tokens_of(user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).prefetch_related("organisations")


def managed_tokens(actor: Any) -> QuerySet[ApiToken]:
    """Tokens of the people in the organisations ``actor`` manages (everyone's for a
    superuser), for administrators to see their use and revoke them."""
    tokens = ApiToken.objects.select_related("user", "revoked_by").prefetch_related("organisations")
    if actor.is_superuser and access.token_scope(actor) is None:
        return tokens
    managed = access.organisation_ids(actor, MANAGE_ORGANISATION)
    people = Membership.objects.filter(organisation_id__in=managed).values("user_id")
    return tokens.filter(user_id__in=people)


def may_revoke(actor: Any, token: ApiToken) -> bool:
    if not getattr(actor, "is_authenticated", False) or access.token_scope(actor) is not None:
        return False  # revoking is done on the pages, never with a token
    return token.user_id == actor.pk or managed_tokens(actor).filter(pk=token.pk).exists()


# --- Creating and revoking --------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    #: The token in clear: shown once, stored nowhere.
    secret: str


def create_token(
    user: Any,
    *,
    name: str,
    scope: str = TokenScope.READ,
    organisations: list[Organisation] | None = None,
    expires_in_days: int | None = DEFAULT_EXPIRY_DAYS,
) -> NewToken:
    """A new token of ``user``. ``organisations`` limits it (``None``: every organisation
    the person holds a role in, now and later); ``expires_in_days`` is one of
    :data:`EXPIRY_DAYS`. Recorded in history (never the token itself)."""
    if not getattr(user, "is_authenticated", False) or access.token_scope(user) is not None:
        raise PermissionDenied
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name.")})
    if scope not in TokenScope.values:
        raise ValidationError({"scope": _("Choose read, or read and write.")})
    if expires_in_days is not None and expires_in_days not in EXPIRY_DAYS:
        raise ValidationError({"expires_in_days": _("Choose how long the token lasts.")})
    chosen: list[Organisation] = []
    if organisations is not None:
        allowed = set(organisation_choices(user).values_list("pk", flat=True))
        chosen = list(organisations)
        if not chosen:
            raise ValidationError({"organisations": _("Choose at least one organisation.")})
        if any(org.pk not in allowed for org in chosen):
            raise ValidationError(
                {"organisations": _("You hold no role in one of these organisations.")}
            )
    with transaction.atomic():
        active = ApiToken.objects.select_for_update().filter(user=user).active()
        if len(active) >= MAX_ACTIVE_TOKENS:
            raise ValidationError(
                _("You have %(count)d tokens already; revoke one you no longer use first.")
                % {"count": len(active)}
            )
        prefix, secret = _new_token()
        while ApiToken.objects.filter(prefix=prefix).exists():  # 36⁸ prefixes: rare
            prefix, secret = _new_token()
        now = timezone.now()
        token = ApiToken.objects.create(
            user=user,
            name=name[:100],
            prefix=prefix,
            key_hash=hash_token(secret),
            scope=scope,
            all_organisations=organisations is None,
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        token.organisations.set(chosen)
        history.record(
            token,
            CoreAction.API_TOKEN_CREATED,
            actor=user,
            after={
                "prefix": prefix,
                "name": token.name,
                "scope": scope,
                "organisations": sorted(o.pk for o in chosen) if chosen else "all",
                "expires_at": token.expires_at,
            },
        )
    return NewToken(token=token, secret=secret)


def revoke_token(token: ApiToken, actor: Any, *, reason: str = "") -> ApiToken:
    """Revoke ``token`` for good: by its owner, or by an administrator of an organisation
    its owner works for. Recorded in history, with who and why."""
    if not may_revoke(actor, token):
        raise PermissionDenied
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is not None:
            raise ValidationError(_("This token was revoked already."))
        token.revoked_at = timezone.now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        history.record(
            token,
            CoreAction.API_TOKEN_REVOKED,
            actor=actor,
            before={"prefix": token.prefix, "owner": token.user_id},
            reason=reason[:500],
        )
    return token


# --- Checking a token on a request ------------------------------------------------------


class TokenRefused(Exception):
    """A token was sent that opens nothing: ``message`` says why, in the active language."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def token_in_header(value: str) -> str | None:
    """The token in an ``Authorization`` header, or ``None`` when the header is not meant
    for us: ``Bearer <token>``, ``Token <token>``, or the bare token (CKAN clients send
    their key so). Any other scheme (``Basic`` ...) is someone else's."""
    value = (value or "").strip()
    if not value:
        return None
    scheme, _sep, rest = value.partition(" ")
    if scheme.lower() in ("bearer", "token"):
        return rest.strip()
    if value.startswith(PREFIX) and " " not in value:
        return value
    return None


def check(raw: str) -> ApiToken:
    """The token ``raw`` is, with its owner; :class:`TokenRefused` when it is unknown,
    revoked or expired, or its owner's account is closed."""
    digest = hash_token(raw) if len(raw) <= 200 else ""
    found = None
    if _SHAPE.match(raw or ""):
        found = ApiToken.objects.select_related("user").filter(prefix=raw[:PREFIX_LENGTH]).first()
    if found is None or not hmac.compare_digest(found.key_hash, digest):
        raise TokenRefused(
            "token_invalid",
            _("This API token is not valid. Check that it was copied whole, or create a new one."),
        )
    if found.revoked_at is not None:
        raise TokenRefused(
            "token_revoked",
            _("This API token was revoked on %(date)s. Create a new one on your API tokens page.")
            % {"date": formats.date_format(timezone.localtime(found.revoked_at))},
        )
    if found.is_expired:
        assert found.expires_at is not None
        raise TokenRefused(
            "token_expired",
            _("This API token expired on %(date)s. Create a new one on your API tokens page.")
            % {"date": formats.date_format(timezone.localtime(found.expires_at))},
        )
    if not found.user.is_active:
        raise TokenRefused("account_inactive", _("The account of this API token is closed."))
    return found


class TokenReadOnly(TokenRefused):
    """A read token sent with a request that could change something (a 403, not a 401)."""


#: The challenge of a 401 for a token (without one, clients do not ask for credentials).
CHALLENGE = 'Bearer realm="api"'
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def authenticate(request: Any) -> tuple[Any, ApiToken] | None:
    """The owner of the token ``request`` sends (a Django or a DRF request), answering only
    within the token's scope for this one request, and the token; ``None`` when the request
    sends none (a session, or an anonymous caller). :class:`TokenRefused` when the token
    opens nothing, :class:`TokenReadOnly` for a read token on an unsafe method. Counts the
    use (:func:`record_use`). The one check the REST API and the plain views share."""
    raw = token_in_header(request.META.get("HTTP_AUTHORIZATION", ""))
    if raw is None:
        return None
    token = check(raw)
    if not token.can_write and request.method not in SAFE_METHODS:
        raise TokenReadOnly(
            "token_read_only",
            _("This API token may only read. Create a token that may write for this."),
        )
    user = token.user
    access.limit_to_token(user, scope_of(token))
    record_use(token, client_address(request))
    return user, token


def client_address(request: Any) -> str | None:
    """The client's address as the throttles count it (they know the trusted proxies)."""
    return BaseThrottle().get_ident(request)


def scope_of(token: ApiToken) -> access.TokenScope:
    organisations = None
    if not token.all_organisations:
        organisations = frozenset(token.organisations.values_list("pk", flat=True))
    return access.TokenScope(read_only=not token.can_write, organisations=organisations)


@dataclass
class _Uses:
    count: int = 0
    address: str | None = None
    written_at: float | None = None


_uses: dict[tuple[int, str], _Uses] = {}
_uses_lock = threading.Lock()


def _address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def record_use(token: ApiToken, address: str | None) -> None:
    """Count one use of ``token`` from ``address``. The database is written at the first
    use in this process and then at most every :data:`USE_WRITE_SECONDS`, with the uses
    counted meanwhile; uses not yet written when a process stops are lost (a minute's)."""
    key = (token.pk, token.prefix)
    now = time.monotonic()
    with _uses_lock:
        uses = _uses.setdefault(key, _Uses())
        uses.count += 1
        uses.address = _address(address) or uses.address
        if uses.written_at is not None and now - uses.written_at < USE_WRITE_SECONDS:
            return
        count, uses.count, uses.written_at = uses.count, 0, now
        last_address = uses.address
    try:
        ApiToken.objects.filter(pk=token.pk).update(
            use_count=F("use_count") + count,
            last_used_at=timezone.now(),
            last_used_ip=last_address,
        )
    except DatabaseError:  # a busy database: count them with the next write
        log.warning("api token use not recorded", token=token.prefix)
        with _uses_lock:
            uses.count += count
            uses.written_at = None
