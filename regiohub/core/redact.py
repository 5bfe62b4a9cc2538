"""Secrets that travel in URLs (the citizen's follow-up token, password-set links) are cut
out of every log line: application logs, Django's request warnings and gunicorn's access
log. Add a pattern here when a new URL carries a secret.

National register numbers never reach a log either: eleven digits in their usual
spellings (``85071512397``, ``85.07.15-123.97``, ``850715 123 97``), valid or mistyped,
are masked to their last four digits wherever they appear."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

SECRET_IN_PATH = re.compile(r"(/melding/|/account/password/[^/\s]+/)[^/\s?#\"'<>]+")
REPLACEMENT = r"\1…"


NATIONAL_NUMBER = re.compile(r"(?<![\d.])\d{2}[. ]?\d{2}[. ]?\d{2}[-. ]?\d{3}[. ]?(\d{2})(?![\d])")


def _masked(found: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", found.group(0))
    return f"••.••.••-•{digits[-4:-2]}.{digits[-2:]}"


def redact(text: str) -> str:
    return NATIONAL_NUMBER.sub(_masked, SECRET_IN_PATH.sub(REPLACEMENT, text))


def redact_event(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: redact every text value of the event (and the request's repr)."""
    for key, value in list(event_dict.items()):
        if isinstance(value, str):
            event_dict[key] = redact(value)
        elif key == "request" and value is not None:
            event_dict[key] = redact(repr(value))
    return event_dict


class GunicornLogger(Logger):
    """gunicorn's access log with the same redaction."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
