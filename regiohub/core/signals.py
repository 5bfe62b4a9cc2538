"""Receivers of the core app, connected in CoreConfig.ready()."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from regiohub.core import geo
from regiohub.core.models import District, Organisation


@receiver(post_save, sender=Organisation)
@receiver(post_delete, sender=Organisation)
def _boundaries_changed(sender: type, **kwargs: Any) -> None:
    geo.invalidate()


@receiver(post_save, sender=District)
@receiver(post_delete, sender=District)
def _districts_changed(sender: type, **kwargs: Any) -> None:
    geo.invalidate_districts()
