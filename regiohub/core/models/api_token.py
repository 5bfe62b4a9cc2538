"""A person's API token: how a script, a BI tool or a municipal system reaches the API as
that person, without a browser session, within a scope the person chose.

Only the SHA-256 of the token is stored; the token itself is shown once, when it is
created (see ``core.api_tokens`` and docs/decisions/0025-personal-api-tokens.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TokenScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        """Neither revoked nor expired."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(
        _("name"),
        max_length=100,
        help_text=_("What uses it, e.g. “Power BI traffic dashboard”."),
    )
    #: The public start of the token (``rh_`` and 8 characters): shown in lists, and how a
    #: token is found before its hash is compared.
    prefix = models.CharField(_("token starts with"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("token (SHA-256)"), max_length=64, editable=False)
    scope = models.CharField(
        _("may"), max_length=5, choices=TokenScope.choices, default=TokenScope.READ
    )
    #: Every organisation the person holds a role in, now and later; else ``organisations``.
    all_organisations = models.BooleanField(_("all my organisations"), default=True)
    organisations = models.ManyToManyField(
        "core.Organisation", verbose_name=_("organisations"), blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    #: Usage, written at most once a minute per token and server process (see
    #: ``core.api_tokens.record_use``): a close count, not an audit trail.
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True)
    use_count = models.PositiveBigIntegerField(_("uses"), default=0)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return not self.is_revoked and not self.is_expired

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.WRITE
