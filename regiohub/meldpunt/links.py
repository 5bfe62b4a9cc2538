"""The reporter's private follow-up link: derived, never stored (only its hash is).

Its own small module so that both the services (filing) and the mail tasks use it without
the tasks importing the services.
"""

from __future__ import annotations

import base64
import hashlib

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac

from regiohub.meldpunt.models import Handover, Report


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def followup_token(report: Report) -> str:
    """The private token of the reporter's follow-up link.

    Derived from the report's random salt and the secret key, so the mails can repeat the
    link while the database holds only its hash (without the secret key, a copy of the
    database gives no working links).
    """
    if not report.token_salt:
        return ""
    digest = salted_hmac("regiohub.meldpunt.followup", report.token_salt, algorithm="sha256")
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def followup_url(report: Report) -> str:
    token = followup_token(report)
    if not token:
        return ""
    return settings.SITE_URL.rstrip("/") + reverse("meldpunt:followup", args=[token])


def handoff_token(handover: Handover) -> str:
    """The private token of an external body's link to one hand-over (ADR 0038).

    Derived like the reporter's (another HMAC key, so one token never opens the other's
    page); empty for a hand-over without a link.
    """
    if not handover.token_salt:
        return ""
    digest = salted_hmac("regiohub.meldpunt.handoff", handover.token_salt, algorithm="sha256")
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def handoff_url(handover: Handover) -> str:
    token = handoff_token(handover)
    if not token:
        return ""
    return settings.SITE_URL.rstrip("/") + reverse("meldpunt:handoff", args=[token])
