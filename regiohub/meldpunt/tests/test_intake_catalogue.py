"""Filing reads the subjects, organisations and calendars from the per-process catalogue
(``meldpunt.catalogue``): no query for them per report, and an admin's change holds at once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from regiohub.meldpunt.models import Category, ClosingDay
from regiohub.meldpunt.tests.factories import file_report

pytestmark = pytest.mark.django_db


def test_filing_asks_nothing_of_the_catalogue_once_it_is_known(
    categories, settings, django_assert_max_num_queries
):
    from regiohub.meldpunt import routing

    settings.MELDPUNT_ROUTING_CHECK_SECONDS = 60  # as in production: tests check each time
    routing.invalidate()  # so rules of an earlier test are not held for a minute
    file_report(code="pothole")  # builds the catalogue
    # Savepoint, reference, report, history, acknowledgement task, routing trace, release.
    with django_assert_max_num_queries(7):
        file_report(code="pothole")


def test_a_subject_switched_off_in_the_admin_is_refused_at_once(categories):
    file_report(code="pothole")
    category = Category.objects.get(organisation__code="KOR", code="pothole")
    category.is_active = False
    category.save()
    with pytest.raises(ValidationError) as refused:
        file_report(code="pothole")
    assert "category" in refused.value.message_dict


def test_a_closing_day_added_moves_the_next_due_date(categories):
    first = file_report(code="pothole")
    organisation = first.organisation
    day = first.response_due_at.date()
    ClosingDay.objects.create(organisation=organisation, date=day, description="Opendeurdag")
    later = file_report(code="pothole")
    assert later.response_due_at.date() > day


def test_the_report_gets_its_own_copy_of_the_subject(categories):
    one = file_report(code="pothole")
    one.category.name = "changed in memory only"
    one.organisation.name = "changed too"
    other = file_report(code="pothole")
    assert other.category.name != "changed in memory only"
    assert other.organisation.name != "changed too"
