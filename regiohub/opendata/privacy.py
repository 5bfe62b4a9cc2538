"""The portal's part of a data-subject request (``regiohub privacy``).

The portal holds one kind of personal data: the name and e-mail a person may leave when
they tell the portal what they built on a dataset (a reuse). Export shows them with the
reuse; erasure empties them and keeps the reuse (its title and address are the work's,
not the person's). Contact points are services' mailboxes, not people (the form says so).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from regiohub.core import history
from regiohub.opendata.events import Action
from regiohub.opendata.models import Reuse


class PrivacyHandler:
    label = _("Open data portal")

    def _reuses(self, email: str) -> Any:
        return Reuse.objects.filter(submitter_email__iexact=email.strip()).exclude(
            submitter_email=""
        )

    def export(self, email: str) -> dict[str, Any]:
        found = [
            {
                "dataset": reuse.publication.slug,
                "title": reuse.title,
                "url": reuse.url,
                "name": reuse.submitter_name,
                "email": reuse.submitter_email,
                "state": reuse.state,
                "submitted_at": reuse.created_at.isoformat(),
            }
            for reuse in self._reuses(email).select_related("publication")
        ]
        return {"reuses": found} if found else {}

    @transaction.atomic
    def erase(self, email: str, *, actor_label: str) -> int:
        changed = 0
        for reuse in self._reuses(email).select_for_update():
            reuse.submitter_name = ""
            reuse.submitter_email = ""
            reuse.save(update_fields=["submitter_name", "submitter_email"])
            history.record(
                reuse,
                Action.REUSE_ANONYMISED,
                actor_label=actor_label,
                organisation=reuse.publication.publisher_id,
            )
            changed += 1
        return changed
