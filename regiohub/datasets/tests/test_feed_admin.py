"""Feeds are configured in the admin; bad settings are named per field."""

from __future__ import annotations

import pytest

from regiohub.core.tests.factories import UserFactory
from regiohub.datasets.models import Feed
from regiohub.datasets.tests.factories import make_dataset

pytestmark = pytest.mark.django_db


def test_a_feed_with_bad_settings_is_refused_per_field(client, region, steward):
    dataset = make_dataset(region["KOR"], steward)
    admin = UserFactory(superuser=True)
    from regiohub.core.testing import staff_client

    client = staff_client(admin)
    answer = client.post(
        "/admin/datasets/feed/add/",
        {
            "dataset": dataset.pk,
            "kind": "telraam",
            "settings": '{"segment_ids": ["abc"], "start": "2025-01-01T00:00:00Z"}',
            "interval_minutes": 60,
            "is_active": "on",
        },
    )
    assert answer.status_code == 200
    text = answer.content.decode()
    assert "api_key" in text and "segment_ids" in text
    assert Feed.objects.count() == 0
    good = client.post(
        "/admin/datasets/feed/add/",
        {
            "dataset": dataset.pk,
            "kind": "telraam",
            "settings": '{"api_key": "k", "segment_ids": [9000008311], '
            '"start": "2025-09-01T00:00:00Z"}',
            "interval_minutes": 60,
            "is_active": "on",
        },
    )
    assert good.status_code == 302, good.content.decode()[:2000]
    assert Feed.objects.get().kind == "telraam"
