"""Admin for what a municipality configures once: its sender setup (seal, channels, paper
rule) and its letter templates. Letters themselves are followed on the staff pages, not
here; the admin only lists them read-only for support."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regiohub.core.identifiers import IdentifierError, enterprise_number
from regiohub.core.plugins import settings_errors
from regiohub.core.secrets import SecretError, unseal, unseal_fields
from regiohub.documents import services
from regiohub.documents.channels.ebox import EboxSettings
from regiohub.documents.models import (
    SECRET_FIELDS,
    KeySource,
    Letter,
    LetterTemplate,
    PaperBatch,
    Sender,
)
from regiohub.documents.paper import AddressProblem, check_address


class SenderForm(forms.ModelForm):
    key_passphrase = forms.CharField(
        label=gettext_lazy("passphrase of the PKCS#12 file"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy("Leave empty to keep the stored one."),
    )
    token_pin = forms.CharField(
        label=gettext_lazy("token PIN"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy("Leave empty to keep the stored one."),
    )

    class Meta:
        model = Sender
        exclude: list[str] = []

    def clean_enterprise_number(self) -> str:
        try:
            return enterprise_number(self.cleaned_data["enterprise_number"]).digits
        except IdentifierError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_return_address(self) -> str:
        text = self.cleaned_data["return_address"]
        try:
            check_address(text.splitlines(), what=_("The return address"))
        except AddressProblem as problem:
            raise forms.ValidationError(str(problem)) from None
        return text

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in SECRET_FIELDS:  # empty: keep what is stored
            if not data.get(name) and self.instance.pk:
                data[name] = getattr(self.instance, name)
        if data.get("key_source") == KeySource.PKCS12:
            self._check_key_file(data)
        settings = data.get("ebox_settings") or {}
        if settings:
            if not isinstance(settings, dict):
                self.add_error("ebox_settings", _("Expected a JSON object."))
            else:
                try:
                    opened = unseal_fields(settings, ("private_key",))
                except SecretError as exc:
                    self.add_error("ebox_settings", str(exc))
                    return data
                for field, problems in settings_errors(EboxSettings, opened).items():
                    self.add_error("ebox_settings", f"{field}: {' '.join(problems)}")
        return data

    def _check_key_file(self, data: dict[str, Any]) -> None:
        """The key file must open with the passphrase: better now than at the first letter."""
        from regiohub.documents.signing import Sealer, SealError

        path = data.get("key_file") or ""
        if not path:
            self.add_error("key_file", _("A PKCS#12 key needs the path of its file."))
            return
        try:
            raw = Path(path).read_bytes()
        except OSError as error:
            self.add_error("key_file", _("This file cannot be read: %(why)s") % {
                "why": error.strerror})  # fmt: skip
            return
        passphrase = data.get("key_passphrase") or ""
        passphrase = unseal(passphrase)  # the stored one is sealed, a typed one is not
        try:
            Sealer.from_pkcs12(raw, passphrase.encode() if passphrase else None, level="B-B")
        except SealError as error:
            self.add_error("key_passphrase", str(error))


@admin.register(Sender)
class SenderAdmin(admin.ModelAdmin):
    form = SenderForm
    list_display = ["organisation", "level", "paper_partner", "paper_after_days", "revision"]
    readonly_fields = ["revision", "updated_at"]

    def save_model(self, request: Any, obj: Sender, form: Any, change: bool) -> None:
        services.save_sender(obj, actor=request.user)


class LetterTemplateForm(forms.ModelForm):
    logo_file = forms.FileField(
        label=gettext_lazy("logo (PNG or SVG)"), required=False,
        help_text=gettext_lazy("Leave empty to keep the stored one."),
    )  # fmt: skip

    class Meta:
        model = LetterTemplate
        fields = ["organisation", "name", "department", "source", "is_active"]

    def clean(self) -> dict[str, Any]:
        from regiohub.documents.compose import ComposeError, Letterhead, check_template

        data = super().clean()
        upload = data.get("logo_file")
        if upload is not None:
            if upload.size > 2 * 1024 * 1024:
                self.add_error("logo_file", _("A logo is at most 2 MB."))
            else:
                self.instance.logo = upload.read()
        source = data.get("source") or ""
        if source:
            organisation = data.get("organisation")
            try:
                check_template(
                    source,
                    letterhead=Letterhead(
                        name=str(organisation or "—"), logo=bytes(self.instance.logo) or None
                    ),
                )
            except ComposeError as error:
                self.add_error("source", str(error.message))
        return data


@admin.register(LetterTemplate)
class LetterTemplateAdmin(admin.ModelAdmin):
    form = LetterTemplateForm
    list_display = ["name", "organisation", "department", "is_active", "updated_at"]
    list_filter = ["organisation", "is_active"]


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    list_display = ["reference", "organisation", "status", "channel", "created_at"]
    list_filter = ["status", "channel", "organisation"]
    search_fields = ["reference", "=public_id"]
    fields = ["public_id", "organisation", "reference", "status", "channel", "created_at",
              "last_error", "attempts"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(PaperBatch)
class PaperBatchAdmin(admin.ModelAdmin):
    list_display = ["batch_id", "organisation", "state", "uploaded_at", "attempts"]
    list_filter = ["state", "organisation"]
    readonly_fields = [
        "batch_id",
        "organisation",
        "partner",
        "day",
        "sequence",
        "state",
        "events_after",
        "attempts",
        "last_error",
        "created_at",
        "uploaded_at",
    ]

    def has_add_permission(self, request: Any) -> bool:
        return False
