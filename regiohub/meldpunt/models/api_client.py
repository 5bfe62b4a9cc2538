from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiClient(models.Model):
    """An app that files reports through the Open311 API, with its API key.

    Only the key's SHA-256 is stored: the clear key is shown once, when it is created.
    A client bound to a municipality may file reports there only; without one it may file
    anywhere in the region.
    """

    name = models.CharField(_("name"), max_length=120)
    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        limit_choices_to={"kind": "municipality"},
        related_name="api_clients",
        help_text=_("Leave empty for a client that may file reports in the whole region."),
    )
    external_body = models.ForeignKey(
        "meldpunt.ExternalBody",
        verbose_name=_("external body"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_clients",
        help_text=_(
            "For a body's own system: it may then post updates (acknowledged, resolved, not "
            "ours) only to the reports currently handed over to this body."
        ),
    )
    key_hash = models.CharField(_("key (SHA-256)"), max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def new_key(self) -> str:
        """Give the client a new random key; return it in clear (it is not stored)."""
        key = secrets.token_urlsafe(32)
        self.key_hash = hash_key(key)
        return key

    @classmethod
    def create_with_key(cls, *, name: str, organisation=None) -> tuple[ApiClient, str]:
        client = cls(name=name, organisation=organisation)
        key = client.new_key()
        client.full_clean()
        client.save()
        return client, key

    @classmethod
    def authenticate(cls, key: str) -> ApiClient | None:
        """The active client with this key, or None."""
        if not key or len(key) > 200:
            return None
        return (
            cls.objects.filter(key_hash=hash_key(key), is_active=True)
            .select_related("organisation", "external_body")
            .first()
        )


class ApiUpdateReceipt(models.Model):
    """An update an API client posted (``POST servicerequestupdates``), by the client's
    own ``update_id``.

    The unique pair (client, update_id) is what makes an update count once: an app that
    posts again after a timeout gets a refusal that names the update we made the first
    time, instead of a second message to the reporter.
    """

    client = models.ForeignKey(
        ApiClient,
        verbose_name=_("API client"),
        on_delete=models.CASCADE,
        related_name="update_receipts",
    )
    update_id = models.CharField(_("the client's update_id"), max_length=100)
    report = models.ForeignKey(
        "meldpunt.Report", verbose_name=_("report"), on_delete=models.CASCADE, related_name="+"
    )
    history_entry = models.ForeignKey(
        "core.HistoryEntry",
        verbose_name=_("history entry"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The entry that records the update; our update_id is made from it."),
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("update received through the API")
        verbose_name_plural = _("updates received through the API")
        ordering = ["received_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "update_id"], name="api_update_once_per_client"
            )
        ]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.update_id}"
