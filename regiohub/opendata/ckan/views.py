"""The one dispatcher of the CKAN Action API: ``/api/3/action/<name>`` and
``/api/action/<name>``, as CKAN's ``ckan/views/api.py`` answers them.

- Parameters: a GET's query string, a POST's JSON body (what ``ckanapi`` sends) or form;
  as in CKAN, a POST with a query string is read from the query string. At most
  :data:`MAX_BODY` bytes of body (413 above).
- The envelope ``{"help", "success", "result"}`` or ``{"help", "success": false,
  "error": {"__type", "message" | field errors}}`` with CKAN's status codes; an unknown
  action or an unreadable body is CKAN's 400 with a bare JSON string.
- Who asks: anonymous, or the owner of a personal API token sent in ``Authorization``
  (the bare token, as CKAN clients send their key, or ``Bearer <token>``) or
  ``X-CKAN-API-Key``; a token that opens nothing is a 403 Authorization Error (never an
  anonymous answer, decision 0025). A session cookie is ignored: this API never reads or
  makes a session, sets no cookie and needs no CSRF token.
- JSONP (``callback``) on GET, anonymous, as CKAN does.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import quote

import structlog
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from regiohub.core import api_tokens
from regiohub.core.middleware import BadInput
from regiohub.opendata.ckan import dicts, params
from regiohub.opendata.ckan.actions import ACTIONS, Call
from regiohub.opendata.ckan.errors import ActionError, BadRequest, NotAuthorized, invalid

log = structlog.get_logger(__name__)

#: The largest request body read (1 MB); a larger one is refused with 413.
MAX_BODY = 1024 * 1024
CONTENT_TYPE = "application/json;charset=utf-8"
_CALLBACK = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$.]{0,63}$")
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _json(status: int, body: Any) -> HttpResponse:
    try:
        text = json.dumps(body, ensure_ascii=False, allow_nan=False)
    except ValueError:  # a number JSON cannot hold: never an invalid document
        log.exception("ckan answer not encodable")
        status, text = (
            500,
            json.dumps(
                {
                    "success": False,
                    "error": {
                        "__type": "Internal Server Error",
                        "message": "Internal Server Error",
                    },
                }
            ),
        )
    return HttpResponse(text, status=status, content_type=CONTENT_TYPE)


def _help(name: str) -> str:
    """CKAN's ``help``: where the action's documentation is (``help_show``)."""
    return f"{dicts.site()}/api/3/action/help_show?name={quote(name[:100], safe='')}"


def _mixed(query: QueryDict) -> dict[str, Any]:
    """CKAN's ``mixed``: a repeated parameter is a list, a single one a string."""
    return {k: v[0] if len(v) == 1 else v for k, v in query.lists()}


def _body(request: HttpRequest) -> bytes:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise _TooLarge
    body = request.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise _TooLarge
    return body


class _TooLarge(Exception):
    pass


def request_data(request: HttpRequest) -> dict[str, Any]:
    """The action's parameters, as CKAN's ``_get_request_data`` reads them."""
    if request.method == "POST" and request.content_type in _FORMS:
        _body_size_ok(request)
        form = _mixed(request.POST)
        values = list(form.values())
        if len(values) == 1 and values[0] in ("1", ""):
            try:  # the old way: a JSON document as the only field's name
                found = json.loads(next(iter(form)))
            except ValueError as exc:
                raise BadRequest(
                    _("Error decoding JSON data. Error: %(error)r") % {"error": str(exc)[:200]}
                ) from None
            if not isinstance(found, dict):
                raise BadRequest(_("Request data JSON decoded to a value that is not an object."))
            return found
        return form
    if request.GET:
        return _mixed(request.GET)
    if request.method != "POST":
        return {}
    body = _body(request)
    if not body.strip():
        return {}
    try:
        found = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest(_("Error decoding JSON data: the body is not UTF-8.")) from None
    except (ValueError, RecursionError) as exc:
        raise BadRequest(
            _("Error decoding JSON data. Error: %(error)r") % {"error": str(exc)[:200]}
        ) from None
    if not isinstance(found, dict):
        raise BadRequest(
            _("Request data JSON decoded to %(value)s but it needs to be a dictionary.")
            % {"value": json.dumps(found)[:80]}
        )
    return found


def _body_size_ok(request: HttpRequest) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY or (length == 0 and request.META.get("HTTP_TRANSFER_ENCODING")):
        raise _TooLarge


def _as_read(request: HttpRequest) -> HttpRequest:
    """The request as the token check sees it: a GET, since every action here only reads
    (CKAN's clients send their reads as POST), with ``X-CKAN-API-Key`` (the old header
    CKAN clients still send) taken as ``Authorization`` when that is absent."""
    asking = copy.copy(request)
    asking.method = "GET"
    asking.META = dict(request.META)
    if not asking.META.get("HTTP_AUTHORIZATION") and asking.META.get("HTTP_X_CKAN_API_KEY"):
        asking.META["HTTP_AUTHORIZATION"] = asking.META["HTTP_X_CKAN_API_KEY"]
    asking.__dict__.pop("headers", None)  # read again from the META above
    return asking


def _caller(request: HttpRequest) -> Any:
    """The token's owner (within the token's scope) or anonymous; a refused token is a
    403 Authorization Error."""
    asking = _as_read(request)
    if api_tokens.token_in_header(asking.META.get("HTTP_AUTHORIZATION", "")) is None:
        return AnonymousUser()
    try:
        found = api_tokens.authenticate(asking)
    except api_tokens.TokenRefused as refused:
        raise NotAuthorized(refused.message) from None
    return found[0] if found else AnonymousUser()


def _finish(request: HttpRequest, response: HttpResponse, *, token: bool) -> HttpResponse:
    patch_vary_headers(response, ["Authorization", "X-CKAN-API-Key"])
    if token:  # answered for that token alone: no shared cache keeps it
        patch_cache_control(response, private=True)
    # No cookie goes with an answer of this API (a CSRF token a page asked for, say).
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = False
    return response


@csrf_exempt
def action(request: HttpRequest, name: str) -> HttpResponse:
    """Run the action ``name`` and answer in CKAN's envelope."""
    if request.method not in ("GET", "HEAD", "POST"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD, POST"
        return response
    envelope: dict[str, Any] = {"help": _help(name)}
    function = ACTIONS.get(name)
    if function is None:
        message = _("Action name not known: %(name)s") % {"name": name[:100]}
        return _finish(
            request, _json(400, _("Bad request: %(reason)s") % {"reason": message}), token=False
        )
    token = False
    callback: str | None = None
    try:
        data = request_data(request)
        if request.method == "GET" and "callback" in data:
            callback = str(data.pop("callback"))
            if not _CALLBACK.match(callback):
                raise BadRequest(_("The callback is not a JavaScript name."))
        if params.nul_in(data):
            label = next((k for k in data if params.nul_in(k) or params.nul_in(data[k])), "")
            label = label.replace("\x00", "")[:50] or "?"
            raise invalid(label, BadInput(label).message())
        if callback is None:
            user = _caller(request)
            token = getattr(user, "is_authenticated", False)
        else:  # JSONP is answered to anybody: never with a token's rights (CKAN drops them)
            user = AnonymousUser()
        call = Call(
            data=data,
            user=user,
            path=request.path,
            query=_mixed(request.GET) if request.method == "GET" else None,
        )
        envelope["success"] = True
        envelope["result"] = function(call)
        status = 200
    except _TooLarge:
        envelope["success"] = False
        envelope["error"] = {
            "__type": "Validation Error",
            "message": _("The request body is larger than %(mb)d MB.") % {"mb": MAX_BODY // 2**20},
        }
        return _finish(request, _json(413, envelope), token=False)
    except BadRequest as refused:
        reason = _("JSON Error: %(error)s") % {"error": refused.message}
        return _finish(
            request, _json(400, _("Bad request: %(reason)s") % {"reason": reason}), token=False
        )
    except ActionError as failed:
        envelope.pop("result", None)
        envelope["success"] = False
        envelope["error"] = failed.error()
        status = failed.status
        callback = None
    except Exception:
        log.exception("ckan action failed", action=name)
        envelope.pop("result", None)
        envelope["success"] = False
        envelope["error"] = {"__type": "Internal Server Error", "message": "Internal Server Error"}
        return _finish(request, _json(500, envelope), token=token)
    response = _json(status, envelope)
    if callback is not None and status == 200:
        response = HttpResponse(
            f"{callback}({response.content.decode()});",
            content_type="application/javascript;charset=utf-8",
        )
    return _finish(request, response, token=token)


@csrf_exempt
def api_version(request: HttpRequest) -> HttpResponse:
    """``/api/3``: the API's version, as CKAN answers it."""
    return _finish(request, _json(200, {"version": 3}), token=False)


def bad_input(request: HttpRequest, problem: BadInput) -> HttpResponse:
    """Input the platform refuses before any view (a NUL in the query string), in CKAN's
    envelope (for ``ModuleConfig.bad_input_responses``)."""
    name = request.path_info.rstrip("/").rsplit("/", 1)[-1]
    return _json(
        409,
        {
            "help": _help(name),
            "success": False,
            "error": {
                "__type": "Validation Error",
                problem.parameter or "path": [problem.message()],
            },
        },
    )
