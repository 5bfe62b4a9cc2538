import pytest

from regiohub.meldpunt.demo import load_categories


@pytest.fixture
def categories(region):
    load_categories()
    return region
