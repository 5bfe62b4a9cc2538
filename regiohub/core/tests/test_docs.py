"""Every environment variable the settings read is documented for operators."""

from pathlib import Path

import regiohub.settings  # noqa: F401 - registers every variable
from regiohub.conf import REGISTRY

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_every_environment_variable_is_documented():
    text = (DOCS / "configuration.md").read_text()
    missing = [name for name in REGISTRY if f"`{name}`" not in text]
    assert REGISTRY, "no variables registered"
    assert missing == []


def test_every_decision_has_status_context_decision_and_why():
    for path in sorted((DOCS / "decisions").glob("*.md")):
        text = path.read_text()
        for heading in ("Status", "Context", "Decision", "Why"):
            assert heading in text, f"{path.name} lacks {heading}"
