"""Data-subject requests over every module: export and erase one person at once.

Each module that holds personal data declares a :class:`core.modules.PrivacyHandler`;
``regiohub privacy export|erase --email X`` asks all of them. The core's own handler (last,
so the modules still find the account by its address) covers staff accounts.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from regiohub.core import events, history, modules
from regiohub.core.history import CoreAction
from regiohub.core.models import ApiToken, HistoryEntry


def subject_of(email: str) -> str:
    """The pseudonym of an address in events and logs: keyed with the secret key, so it
    cannot be reversed by hashing a list of addresses, yet the same on every replica."""
    digest = salted_hmac("regiohub.privacy.subject", email.strip().lower(), algorithm="sha256")
    return digest.hexdigest()


def _handlers() -> list[tuple[str, modules.PrivacyHandler]]:
    found = modules.privacy_handlers()
    return sorted(found, key=lambda pair: pair[0] == "core")  # the account last


def export(email: str) -> dict[str, Any]:
    """What every module holds about the person with address ``email``."""
    email = _check(email)
    data: dict[str, Any] = {"exported_at": timezone.now().isoformat(), "email": email}
    data["modules"] = {
        label: found for label, handler in _handlers() if (found := handler.export(email))
    }
    return data


@transaction.atomic
def erase(email: str, *, actor_label: str) -> dict[str, int]:
    """Erase the person's data in every module, in one transaction; records changed per
    module. Publishes :class:`core.events.PersonErased`."""
    email = _check(email)
    counts = {
        label: handler.erase(email, actor_label=actor_label) for label, handler in _handlers()
    }
    events.publish(events.PersonErased(subject=subject_of(email), records=counts))
    return counts


def _check(email: str) -> str:
    """One well-formed address (Django's e-mail rules), or ValueError: a pasted line with
    more than an address must not match, or erase, someone."""
    email = (email or "").strip()
    try:
        if len(email) > 254:  # RFC 5321's limit on a path
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise ValueError(_("Give the person's e-mail address.")) from None
    return email


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


class PrivacyHandler:
    """Staff accounts: the profile and memberships; erasing anonymises the account (it stays,
    deactivated, so the history that names it by id keeps its meaning)."""

    label = _("Accounts")

    def export(self, email: str) -> dict[str, Any]:
        users = (
            get_user_model()
            .objects.filter(email__iexact=email)
            .prefetch_related("memberships__organisation")
        )
        return (
            {
                "accounts": [
                    {
                        "email": user.email,
                        "full_name": user.full_name,
                        "language": user.language,
                        "joined": user.date_joined.isoformat(),
                        "last_login": user.last_login.isoformat() if user.last_login else None,
                        "active": user.is_active,
                        "memberships": [
                            {"organisation": m.organisation.code, "role": m.role}
                            for m in user.memberships.all()
                        ],
                        # What they did is in the history under their name (kept: the
                        # audit trail is append-only); the count says how much.
                        "history_entries_as_actor": HistoryEntry.objects.filter(actor=user).count(),
                        "api_tokens": [
                            {
                                "name": token.name,
                                "starts_with": token.prefix,
                                "scope": token.scope,
                                "created_at": token.created_at.isoformat(),
                                "expires_at": _iso(token.expires_at),
                                "revoked_at": _iso(token.revoked_at),
                                "last_used_at": _iso(token.last_used_at),
                                "last_used_from": token.last_used_ip,
                                "uses": token.use_count,
                            }
                            for token in ApiToken.objects.filter(user=user)
                        ],
                    }
                    for user in users
                ]
            }
            if users
            else {}
        )

    def erase(self, email: str, *, actor_label: str) -> int:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        count = 0
        for user in get_user_model().objects.select_for_update().filter(email__iexact=email):
            user.full_name = ""
            user.email = f"erased-{user.pk}@erased.invalid"
            user.oidc_subject = ""
            user.is_active = False
            user.set_unusable_password()
            user.save()
            TOTPDevice.objects.filter(user=user).delete()
            ApiToken.objects.filter(user=user).delete()  # with where they were used from
            user.memberships.all().delete()
            history.record(
                user,
                CoreAction.PERSON_ERASED,
                actor_label=actor_label,
                reason=history.ERASURE_REQUEST,
            )
            count += 1
        return count
