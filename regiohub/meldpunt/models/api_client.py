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
            .select_related("organisation")
            .first()
        )
