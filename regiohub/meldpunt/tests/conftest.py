import pytest

from regiohub.meldpunt.demo import load_categories


@pytest.fixture
def categories(region):
    from regiohub.meldpunt.demo.reports import load_satisfaction_options

    load_categories()
    # Written by migration 0016, but gone after any test that flushes the database.
    load_satisfaction_options(municipal=False)
    return region
