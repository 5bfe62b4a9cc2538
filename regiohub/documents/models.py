"""Letters a municipality sends, how each left, and the proof that nothing changed on the way.

A :class:`Letter` moves received → signed → routed → published (eBox) or batched (paper)
→ read / delivered / returned; ``failed`` is the dead-letter list. Every step is a row in
its :class:`LetterEvent` trail, hash-chained so a later edit of any row shows. The steps
are checkpoints on the letter (``signed_at``, ``routed_at`` ...): a worker killed between
two steps resumes at the first one not done, and a step that talks to the outside world
does so with a key the other side recognises (the eBox's ``Idempotency-Key``, the print
partner's batch id), so nothing is sent twice.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regiohub.core.identifiers import mask_national_number


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    SIGNED = "signed", _("Sealed")
    ROUTED = "routed", _("Routed")
    PUBLISHED = "published", _("In the eBox")
    BATCHED = "batched", _("With the print partner")
    READ = "read", _("Read in the eBox")
    DELIVERED = "delivered", _("Delivered on paper")
    RETURNED = "returned", _("Returned by the post")
    FAILED = "failed", _("Failed")


class RecipientKind(models.TextChoices):
    CITIZEN = "citizen", _("Citizen")
    ENTERPRISE = "enterprise", _("Enterprise")


class ChannelName(models.TextChoices):
    EBOX = "ebox", _("eBox")
    PAPER = "paper", _("Paper")


class SealLevel(models.TextChoices):
    B_T = "B-T", _("PAdES baseline B-T (with timestamp)")
    B_LT = "B-LT", _("PAdES baseline B-LT (long-term, with validation data)")


class KeySource(models.TextChoices):
    PKCS12 = "pkcs12", _("PKCS#12 file")
    PKCS11 = "pkcs11", _("PKCS#11 token (HSM, smart card)")


#: Settings stored sealed (``core.secrets``): never shown, never in an export.
SECRET_FIELDS = ("key_passphrase", "token_pin")


class Sender(models.Model):
    """A municipality as a sender of letters: its seal, its channels and its paper rule.

    One per municipality; without one, the municipality cannot submit letters (the
    service says so). Secrets (the key's passphrase, the token's PIN, the eBox private
    key) are stored sealed.
    """

    organisation = models.OneToOneField(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.PROTECT,
        related_name="letter_sender",
    )
    enterprise_number = models.CharField(
        _("enterprise number"),
        max_length=12,
        help_text=_("The municipality's KBO number, printed on the batches for the print partner."),
    )
    return_address = models.TextField(
        _("return address"), help_text=_("One line per line, as the post office should read it.")
    )
    # -- the seal
    key_source = models.CharField(
        _("key source"), max_length=10, choices=KeySource.choices, default=KeySource.PKCS12
    )
    key_file = models.CharField(
        _("PKCS#12 file"),
        max_length=500,
        blank=True,
        help_text=_("Path on the server of the seal's .p12 file."),
    )
    key_passphrase = models.CharField(
        _("passphrase of the PKCS#12 file"), max_length=500, blank=True
    )
    token_library = models.CharField(
        _("PKCS#11 library"),
        max_length=500,
        blank=True,
        help_text=_("For example /usr/lib/softhsm/libsofthsm2.so"),
    )
    token_label = models.CharField(_("token label"), max_length=100, blank=True)
    token_key_label = models.CharField(_("key label on the token"), max_length=100, blank=True)
    token_pin = models.CharField(_("token PIN"), max_length=200, blank=True)
    level = models.CharField(
        _("seal level"), max_length=5, choices=SealLevel.choices, default=SealLevel.B_T
    )
    tsa_url = models.URLField(_("timestamp authority"), max_length=500)
    seal_reason = models.CharField(_("reason in the seal"), max_length=200, blank=True)
    seal_location = models.CharField(_("place in the seal"), max_length=100, blank=True)
    # -- channels
    ebox_settings = models.JSONField(
        _("eBox settings"),
        default=dict,
        blank=True,
        help_text=_("From the eBox onboarding; empty: letters go on paper only."),
    )
    paper_partner = models.CharField(
        _("print partner id"), max_length=40, help_text=_("As agreed with the partner.")
    )
    paper_url = models.URLField(_("print partner address"), max_length=500)
    paper_after_days = models.PositiveSmallIntegerField(
        _("also on paper when unread after (days)"),
        null=True,
        blank=True,
        help_text=_(
            "A letter in the eBox that is not read after this many days also goes on "
            "paper. Empty: never."
        ),
    )
    revision = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("letter sender")
        verbose_name_plural = _("letter senders")

    def __str__(self) -> str:
        return str(self.organisation)

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Secrets are stored sealed; each save is a new revision (workers reload)."""
        from regiohub.core.secrets import seal, seal_fields

        for name in SECRET_FIELDS:
            value = getattr(self, name)
            if value:
                setattr(self, name, seal(value) if not _is_sealed(value) else value)
        self.ebox_settings = seal_fields(self.ebox_settings or {}, ("private_key",))
        if self.pk:
            self.revision = (
                Sender.objects.filter(pk=self.pk).values_list("revision", flat=True).first() or 0
            ) + 1
        super().save(*args, **kwargs)

    @property
    def return_lines(self) -> list[str]:
        return [line.strip() for line in self.return_address.splitlines() if line.strip()]


def _is_sealed(value: str) -> bool:
    from regiohub.core.secrets import is_sealed

    return is_sealed(value)


class PaperBatch(models.Model):
    """The letters of one municipality handed to its print partner together.

    Letters are assigned to a batch (one transaction) before its folder is written, so a
    batch written again after a crash holds the same letters, and its id is the
    partner's idempotency key.
    """

    class State(models.TextChoices):
        OPEN = "open", _("Being prepared")
        UPLOADED = "uploaded", _("Handed to the partner")
        FAILED = "failed", _("Failed")

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="paper_batches"
    )
    partner = models.CharField(_("print partner"), max_length=40)
    day = models.DateField(_("day"))
    sequence = models.PositiveSmallIntegerField(_("sequence"))
    batch_id = models.CharField(_("batch id"), max_length=80, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    events_after = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    uploaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("paper batch")
        verbose_name_plural = _("paper batches")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "partner", "day", "sequence"], name="paper_batch_sequence"
            )
        ]

    def __str__(self) -> str:
        return self.batch_id


class Letter(models.Model):
    """One letter to one recipient, with its files and its way out."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.PROTECT,
        related_name="letters",
    )
    department = models.CharField(_("department"), max_length=200, blank=True)
    reference = models.CharField(_("reference"), max_length=80)
    idempotency_key = models.CharField(_("idempotency key"), max_length=255)
    #: SHA-256 over what was submitted: the same key with other content is refused.
    content_digest = models.CharField(max_length=64)
    recipient_kind = models.CharField(_("recipient"), max_length=10, choices=RecipientKind.choices)
    #: Bare digits, checked; a national register number is shown masked everywhere.
    recipient_number = models.CharField(_("number"), max_length=11)
    recipient_name = models.CharField(_("name"), max_length=200, blank=True)
    address_lines = models.JSONField(_("postal address"), default=list, blank=True)
    country_code = models.CharField(_("country"), max_length=2, default="BE")
    language = models.CharField(_("language"), max_length=2, default="nl")
    subjects = models.JSONField(_("subject"), default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ChannelName.choices, blank=True)
    #: Why the channel was chosen (the channel's stable code: consent, no_ebox ...).
    route_reason = models.CharField(max_length=40, blank=True)
    #: Also on paper: the recipient never opened the eBox, or did not read it in time.
    paper_copy = models.BooleanField(_("also on paper"), default=False)
    ebox_message_id = models.CharField(max_length=100, blank=True)
    paper_batch = models.ForeignKey(
        PaperBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="letters"
    )
    # -- checkpoints
    created_at = models.DateTimeField(_("received"), default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)
    routed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    batched_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    # -- failures
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(_("submitted by"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "idempotency_key"], name="letter_idempotency_key"
            )
        ]
        indexes = [
            models.Index(fields=["organisation", "status"]),
            models.Index(fields=["organisation", "-created_at"]),
            models.Index(fields=["channel", "paper_batch"]),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.public_id})"

    @property
    def recipient_shown(self) -> str:
        """The recipient's number as a page may show it."""
        if self.recipient_kind == RecipientKind.CITIZEN:
            return mask_national_number(self.recipient_number)
        d = self.recipient_number
        return f"{d[:4]}.{d[4:7]}.{d[7:]}" if len(d) == 10 else d

    def subject(self, language: str | None = None) -> str:
        subjects = self.subjects or {}
        for lang in (language, self.language, "nl", "fr", "de", "en"):
            if lang and subjects.get(lang):
                return str(subjects[lang])
        return ""


class LetterFile(models.Model):
    """One PDF of a letter: as received and as sealed (never changed after)."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveSmallIntegerField()
    filename = models.CharField(max_length=255)
    original = models.CharField(max_length=300)
    original_sha256 = models.CharField(max_length=64)
    original_size = models.PositiveIntegerField()
    signed = models.CharField(max_length=300, blank=True)
    signed_sha256 = models.CharField(max_length=64, blank=True)
    signed_size = models.PositiveIntegerField(null=True, blank=True)
    #: What the channel confirmed it received (the eBox's digest, the partner's manifest).
    delivered_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["letter", "position"]
        constraints = [
            models.UniqueConstraint(fields=["letter", "position"], name="letter_file_position")
        ]

    def __str__(self) -> str:
        return self.filename


class LetterEvent(models.Model):
    """One step in a letter's trail. Append-only and hash-chained: ``digest`` is the
    SHA-256 of the previous row's digest and this row's content, so changing, removing or
    reordering a row breaks every digest after it (:func:`chain_digest`)."""

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="events")
    sequence = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices)
    action = models.CharField(max_length=40)
    actor = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    previous = models.CharField(max_length=64)
    digest = models.CharField(max_length=64)

    class Meta:
        ordering = ["letter", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["letter", "sequence"], name="letter_event_sequence")
        ]

    def __str__(self) -> str:
        return f"{self.letter_id}#{self.sequence} {self.action}"

    def content(self) -> dict[str, Any]:
        return {
            "letter": str(self.letter.public_id),
            "sequence": self.sequence,
            "at": self.at.isoformat(timespec="microseconds"),
            "status": self.status,
            "action": self.action,
            "actor": self.actor,
            "detail": self.detail,
        }


#: The ``previous`` of a letter's first event.
GENESIS = "0" * 64


def chain_digest(previous: str, content: dict[str, Any]) -> str:
    """SHA-256 (hex) of ``previous`` and ``content`` in canonical JSON."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()


class LetterTemplate(models.Model):
    """A municipality's letter template (typst source, see ``documents.compose``): its
    letterhead, layout and wording, with variables filled in per letter."""

    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("municipality"),
        on_delete=models.PROTECT,
        related_name="letter_templates",
    )
    name = models.CharField(_("name"), max_length=120)
    source = models.TextField(_("template (typst)"))
    department = models.CharField(_("department"), max_length=200, blank=True)
    logo = models.BinaryField(_("logo (PNG or SVG)"), blank=True, default=b"", editable=True)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("letter template")
        verbose_name_plural = _("letter templates")
        ordering = ["organisation", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="letter_template_name")
        ]

    def __str__(self) -> str:
        return self.name
