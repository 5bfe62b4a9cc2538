import pytest

from regiohub.conf import REGISTRY, ConfigurationError, config


@pytest.fixture(autouse=True)
def _keep_registry_clean():
    """Variables made up by these tests must not count as real, documented settings."""
    before = dict(REGISTRY)
    yield
    REGISTRY.clear()
    REGISTRY.update(before)


def test_values_are_converted_to_the_type_of_the_default(monkeypatch):
    monkeypatch.setenv("RH_TEST_INT", "12")
    monkeypatch.setenv("RH_TEST_BOOL", "yes")
    monkeypatch.setenv("RH_TEST_LIST", "a.be, b.be,,")
    assert config("RH_TEST_INT", 1, help_text="t") == 12
    assert config("RH_TEST_BOOL", False, help_text="t") is True
    assert config("RH_TEST_LIST", [], help_text="t") == ["a.be", "b.be"]
    assert config("RH_TEST_ABSENT", "x", help_text="t") == "x"


@pytest.mark.parametrize(("value", "default"), [("twelve", 1), ("perhaps", False)])
def test_bad_values_name_the_variable(monkeypatch, value, default):
    monkeypatch.setenv("RH_TEST_BAD", value)
    with pytest.raises(ConfigurationError, match="RH_TEST_BAD"):
        config("RH_TEST_BAD", default, help_text="t")
