"""The contact point's periodic jobs (registered from ``MeldpuntConfig.ready()``)."""

from __future__ import annotations

from regiohub.core import schedule

#: Local hour at which reports past their retention period are anonymised.
RETENTION_HOUR = 3
TOPDESK_POLL_MINUTES = 5


def register_jobs() -> None:
    from regiohub.meldpunt.tasks_periodic import (
        anonymise_expired_reports,
        send_daily_digests,
        sweep_pending_photos,
    )

    schedule.every_day("meldpunt.daily-digest", send_daily_digests, hour="MELDPUNT_DIGEST_HOUR")
    schedule.every_day("meldpunt.retention", anonymise_expired_reports, hour=RETENTION_HOUR)
    schedule.every_day("meldpunt.pending-photos", sweep_pending_photos, hour=RETENTION_HOUR)

    from regiohub.meldpunt.tasks import (
        STATISTICS_MINUTES,
        refresh_statistics,
        refresh_statistics_nightly,
    )

    # The statistics page's counts (ADR 0039): changed months every few minutes.
    schedule.every_minutes("meldpunt.statistics", refresh_statistics, minutes=STATISTICS_MINUTES)
    schedule.every_day(
        "meldpunt.statistics-nightly", refresh_statistics_nightly, hour=RETENTION_HOUR
    )

    from regiohub.meldpunt.contrib.topdesk.tasks import poll_topdesk

    # Status changes made in TOPdesk come back within this many minutes.
    schedule.every_minutes("meldpunt.topdesk-poll", poll_topdesk, minutes=TOPDESK_POLL_MINUTES)
