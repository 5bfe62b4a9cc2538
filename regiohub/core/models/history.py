from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """History rows are never changed or removed."""


#: Words the code itself writes into the history (who acted when no account did, reasons it
#: gives): stored as their English source, translated when an entry is shown, in the
#: reader's language. The request that wrote them may have spoken another one.
_TRANSLATED_WHEN_SHOWN: set[str] = set()
#: What entries written before stored instead: the word already translated in the language
#: of the request that wrote it. History is append-only (rows are never rewritten), so
#: these old words are recognised when shown.
_STORED_BEFORE: dict[str, str] = {}


def translated_when_shown(text: str, *, stored_before: Iterable[str] = ()) -> str:
    """Declare ``text`` (marked with ``gettext_noop``) as a word the history stores in
    English and shows translated; ``stored_before`` are its translations older entries hold.
    Returns ``text``, the value to store."""
    _TRANSLATED_WHEN_SHOWN.add(text)
    _STORED_BEFORE.update(dict.fromkeys(stored_before, text))
    return text


def shown(text: str) -> str:
    """A stored label or reason in the active language: a declared word translated now,
    anything else (a person's name, a connector, a reason someone typed) as it was stored."""
    key = _STORED_BEFORE.get(text, text)
    return gettext(key) if key in _TRANSLATED_WHEN_SHOWN else text


SYSTEM = translated_when_shown(gettext_noop("system"))
CITIZEN = translated_when_shown(gettext_noop("citizen"), stored_before=["burger", "citoyen"])
PRIVACY_COMMAND = translated_when_shown(
    gettext_noop("privacy request (command line)"),
    stored_before=[
        "privacyverzoek (opdrachtregel)",
        "demande relative à la vie privée (ligne de commande)",
    ],
)
ERASURE_REQUEST = translated_when_shown(
    gettext_noop("erasure request"),
    stored_before=["verzoek tot wissing", "demande d’effacement"],
)


class HistoryQuerySet(models.QuerySet["HistoryEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("history entries cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("history entries cannot be deleted")

    def for_object(self, obj: models.Model) -> HistoryQuerySet:
        return self.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
        )


class HistoryEntry(models.Model):
    """One state change of anything: who, when, what, before and after, why.

    Append-only: the model refuses updates and deletes, and a database trigger (see the
    migration) refuses them too. Keep personal data out of ``before``/``after`` (store
    identifiers), so that erasing a person never requires rewriting history.
    """

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        # Accounts are deactivated, not deleted; should one be deleted anyway, the entry
        # keeps its actor_label and is not rewritten.
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(
        _("who (label)"),
        max_length=200,
        help_text=_(
            "The actor as shown, kept when the account is gone: a name, 'citizen', "
            "'system', a connector."
        ),
    )
    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    action = models.CharField(_("what"), max_length=64)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    reason = models.TextField(_("why"), blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = HistoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label}: {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("history entries cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("history entries cannot be deleted")

    @property
    def actor_display(self) -> str:
        """Who acted, in the reader's language (see :func:`shown`)."""
        return shown(self.actor_label)

    @property
    def reason_display(self) -> str:
        """Why, in the reader's language when the code gave the reason (see :func:`shown`)."""
        return shown(self.reason)
