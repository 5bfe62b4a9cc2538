"""The errors an action raises, each with CKAN's ``__type`` and HTTP status (CKAN's
``ckan/views/api.py``: 404 Not Found Error, 403 Authorization Error, 409 Validation Error
and Search Error, 400 Search Query Error)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class ActionError(Exception):
    """An answer with ``success: false``."""

    status = 500
    kind = "Internal Server Error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def error(self) -> dict[str, Any]:
        return {"__type": self.kind, "message": self.message}


class NotFound(ActionError):
    status = 404
    kind = "Not Found Error"

    def error(self) -> dict[str, Any]:
        message = _("Not found: %(reason)s") % {"reason": self.message} if self.message else ""
        return {"__type": self.kind, "message": message or _("Not found")}


class NotAuthorized(ActionError):
    status = 403
    kind = "Authorization Error"

    def error(self) -> dict[str, Any]:
        if self.message:
            message = _("Access denied: %(reason)s") % {"reason": self.message}
        else:
            message = _("Access denied")
        return {"__type": self.kind, "message": message}


class ValidationError(ActionError):
    """Field errors, ``{field: [message, ...]}``, as CKAN's ``ValidationError``."""

    status = 409
    kind = "Validation Error"

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(str(errors))
        self.errors = errors

    def error(self) -> dict[str, Any]:
        return {**self.errors, "__type": self.kind}


def invalid(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def missing(field: str) -> ValidationError:
    return invalid(field, _("Missing value"))


class SearchQueryError(ActionError):
    """A search CKAN's search index cannot parse (an unknown parameter, a bad sort)."""

    status = 400
    kind = "Search Query Error"

    def error(self) -> dict[str, Any]:
        return {
            "__type": self.kind,
            "message": _("Search Query is invalid: %(reason)s") % {"reason": self.message},
        }


class SearchError(ActionError):
    """A search the index refuses to run (an unknown field in ``fq``)."""

    status = 409
    kind = "Search Error"

    def error(self) -> dict[str, Any]:
        return {
            "__type": self.kind,
            "message": _("Search error: %(reason)s") % {"reason": self.message},
        }


class BadRequest(Exception):
    """Answered 400 with a bare JSON string, as CKAN answers an unknown action or a body
    it cannot read (``"Bad request: JSON Error: ..."``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
