"""A data steward points a dataset at a Telraam feed from the dataset's pages; the key is
never shown again, and a wrong setting is named."""

from __future__ import annotations

import pytest
from django.test import override_settings

from regiohub.core.secrets import unseal
from regiohub.core.testing import run_tasks, staff_client
from regiohub.datasets.models import Feed
from regiohub.datasets.tests.factories import make_dataset
from regiohub.datasets.tests.fake_telraam import fake_telraam, requires_telraam_data

pytestmark = pytest.mark.django_db


@requires_telraam_data
def test_a_steward_sets_up_a_telraam_feed_and_fetches_now(region, steward, menen_analyst):
    dataset = make_dataset(region["KOR"], steward, slug="telraam")
    client = staff_client(steward)
    url = f"/staff/data/{dataset.slug}/feed/"
    page = client.get(url).content.decode()
    assert 'name="api_key"' in page and 'type="password"' in page
    bad = client.post(url, {"kind": "telraam", "segment_ids": "abc", "interval_minutes": 60})
    assert bad.status_code == 200
    text = bad.content.decode()
    assert "“abc” is not a segment id" in text and "This field is required" in text
    with fake_telraam() as telraam:
        saved = client.post(
            url,
            {
                "kind": "telraam",
                "api_key": telraam.api_key,
                "segment_ids": "9000008311",
                "start": "2025-12-01 00:00",
                "base_url": telraam.url,
                "timeout": "2",
                "interval_minutes": "60",
                "is_active": "on",
            },
        )
        assert saved.status_code == 302
        feed = Feed.objects.get()
        assert feed.settings["api_key"].startswith("sealed:")  # never stored as typed
        assert unseal(feed.settings["api_key"]) == telraam.api_key
        edit = client.get(url).content.decode()
        assert telraam.api_key not in edit and "leave empty to keep it" in edit
        kept = client.post(
            url,
            {
                "kind": "telraam",
                "api_key": "",
                "segment_ids": "9000008311",
                "start": "2025-12-01 00:00",
                "base_url": telraam.url,
                "timeout": "2",
                "interval_minutes": "120",
                "is_active": "on",
            },
        )
        assert kept.status_code == 302
        feed.refresh_from_db()
        assert unseal(feed.settings["api_key"]) == telraam.api_key
        assert feed.interval_minutes == 120
        assert client.post(f"{url}run/").status_code == 302
        run_tasks()
    assert dataset.versions.count() >= 1
    other = staff_client(menen_analyst)
    assert other.get(url).status_code == 404
    assert other.post(f"{url}run/").status_code == 404


@requires_telraam_data
@override_settings(DATASETS_FEED_HOSTS={"telraam": ["telraam-api.net", "elders.example"]})
def test_a_stored_key_is_not_sent_to_a_new_address(region, steward):
    dataset = make_dataset(region["KOR"], steward, slug="telraam")
    Feed.objects.create(
        dataset=dataset,
        kind="telraam",
        settings={"api_key": "SECRET-KEY", "segment_ids": [1], "start": "2025-01-01T00:00:00Z",
                  "base_url": "https://telraam-api.net"},
    )  # fmt: skip
    answer = staff_client(steward).post(
        f"/staff/data/{dataset.slug}/feed/",
        {
            "kind": "telraam",
            "api_key": "",
            "segment_ids": "1",
            "start": "2025-01-01 00:00",
            "base_url": "https://elders.example",
            "interval_minutes": "60",
            "is_active": "on",
        },
    )
    assert answer.status_code == 200
    assert "Enter the key again" in answer.content.decode()
    assert Feed.objects.get().settings["base_url"] == "https://telraam-api.net"
