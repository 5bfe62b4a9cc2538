"""A push whose worker dies on every try still ends in the dead-letter list."""

from __future__ import annotations

import pytest

from regiohub.meldpunt.contrib.connectors.tasks import PUSH_MAX_ATTEMPTS, push_report
from regiohub.meldpunt.models import ConnectorConfig, Delivery
from regiohub.meldpunt.models.connector import DeliveryState
from regiohub.meldpunt.tests.factories import file_report

pytestmark = pytest.mark.django_db


def test_tries_that_never_finished_count_towards_giving_up(categories):
    config = ConnectorConfig.objects.create(
        name="Back office",
        organisation=categories["KOR"],
        connector="webhook",
        settings={"url": "http://127.0.0.1:9/never-called", "secret": "s3cret"},
        is_active=False,  # no automatic push: this test drives the task itself
    )
    delivery = Delivery.objects.create(
        report=file_report(), config=config, attempts=PUSH_MAX_ATTEMPTS
    )
    # Each try was counted before its call, and each worker was killed during the call.
    assert push_report.call(delivery.pk) == DeliveryState.DEAD
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DEAD and delivery.attempts == PUSH_MAX_ATTEMPTS
    assert delivery.last_error
