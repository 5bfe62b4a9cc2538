"""The data platform's part of a data-subject request (``regiohub privacy``).

Datasets hold no citizens' data of their own; they remember which staff account created
a dataset, loaded a version or started a load, and the name shown for a version. The
account itself is the core's to export and erase.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from regiohub.datasets.models import Dataset, DatasetVersion, Load

#: What a version's "loaded by" shows once the person asked to be erased.
ERASED_LABEL = "[erased]"


class PrivacyHandler:
    label = _("Datasets")

    def _accounts(self, email: str) -> list[int]:
        users = get_user_model().objects.filter(email__iexact=email.strip())
        return list(users.values_list("pk", flat=True))

    def export(self, email: str) -> dict[str, Any]:
        ids = self._accounts(email)
        if not ids:
            return {}
        data = {
            "datasets_created": list(
                Dataset.objects.filter(created_by__in=ids).values_list("slug", flat=True)
            ),
            "versions_loaded": [
                {"dataset": slug, "version": number, "loaded_as": label}
                for slug, number, label in DatasetVersion.objects.filter(
                    created_by__in=ids
                ).values_list("dataset__slug", "number", "created_by_label")
            ],
            "loads_started": Load.objects.filter(created_by__in=ids).count(),
        }
        return data if any(data.values()) else {}

    @transaction.atomic
    def erase(self, email: str, *, actor_label: str) -> int:
        ids = self._accounts(email)
        if not ids:
            return 0
        return (
            DatasetVersion.objects.filter(created_by__in=ids)
            .exclude(created_by_label=ERASED_LABEL)
            .update(created_by_label=ERASED_LABEL)
        )
