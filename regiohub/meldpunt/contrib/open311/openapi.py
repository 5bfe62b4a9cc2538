"""The Open311 GeoReport v2 endpoints in OpenAPI 3, for the platform's one schema.

The endpoints are plain Django views (the spec fixes their shape, suffixes and error
format), so drf-spectacular cannot read them; this describes them by hand and the meldpunt
app adds it to the schema (``ModuleConfig.openapi``). Only the JSON variants are described:
the XML ones take the same parameters. A test checks that every Open311 URL is described.
"""

from __future__ import annotations

from typing import Any

PREFIX = "/open311/v2"
#: The statuses an update may show (``updates.UPDATE_STATUSES`` and INTERNAL_REFERRAL).
_UPDATE_STATUSES = [
    "OPEN", "INVESTIGATING", "IN_PROGRESS", "ACTION_SCHEDULED", "FIXED",
    "NOT_COUNCILS_RESPONSIBILITY", "DUPLICATE", "NO_FURTHER_ACTION", "INTERNAL_REFERRAL",
]  # fmt: skip
#: The statuses an app may post (``updating.POSTED_STATUSES``, then ``HANDLER_ONLY``:
#: accepted when the report already has them).
_POSTED_STATUSES = [
    "OPEN", "REOPEN", "INVESTIGATING", "IN_PROGRESS", "ACTION_SCHEDULED", "FIXED", "CLOSED",
    "NO_FURTHER_ACTION", "DUPLICATE", "INTERNAL_REFERRAL", "NOT_COUNCILS_RESPONSIBILITY",
]  # fmt: skip

#: The datatypes of service attributes (``models.AttributeType``).
_DATATYPES = ["string", "text", "number", "datetime", "singlevaluelist", "multivaluelist"]

_ERRORS = {
    "description": "Problems, one per parameter, in the spec's error format.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Open311Errors"}}},
}


def _query(name: str, description: str, *, required: bool = False, **schema: Any) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _path(name: str, description: str, max_length: int) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "maxLength": max_length, "pattern": "^[^/.]+$"},
    }


_JURISDICTION = _query(
    "jurisdiction_id", "The municipality's NIS code, e.g. 34022.", required=True, maxLength=20
)


def _ok(schema: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _operation(op_id: str, summary: str, params: list, responses: dict) -> dict:
    return {
        "operationId": op_id,
        "summary": summary,
        "tags": ["open311"],
        "security": [{}],
        "parameters": params,
        "responses": responses,
    }


SCHEMAS: dict[str, Any] = {
    "Open311Errors": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
            "required": ["code", "description"],
        },
    },
    "Open311Service": {
        "type": "object",
        "properties": {
            "service_code": {"type": "string"},
            "service_name": {"type": "string"},
            "description": {"type": "string"},
            "metadata": {"type": "boolean"},
            "type": {"type": "string"},
            "keywords": {"type": "string"},
            "group": {"type": "string"},
        },
    },
    "Open311ServiceList": {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Open311Service"},
    },
    "Open311ServiceDefinition": {
        "type": "object",
        "properties": {
            "service_code": {"type": "string"},
            "attributes": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Open311Attribute"},
            },
        },
    },
    "Open311Attribute": {
        "type": "object",
        "properties": {
            "variable": {"type": "boolean"},
            "code": {"type": "string"},
            "datatype": {"type": "string", "enum": _DATATYPES},
            "required": {"type": "boolean"},
            "datatype_description": {"type": "string", "nullable": True},
            "order": {"type": "integer"},
            "description": {"type": "string"},
            "values": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"key": {"type": "string"}, "name": {"type": "string"}},
                    "required": ["key", "name"],
                },
            },
        },
        "required": [
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
            "values",
        ],
    },
    "Open311Request": {
        "type": "object",
        "properties": {
            "service_request_id": {"type": "string"},
            "status": {"type": "string", "enum": ["open", "closed"]},
            "status_notes": {"type": "string", "nullable": True},
            "service_name": {"type": "string"},
            "service_code": {"type": "string"},
            "description": {"type": "string"},
            "agency_responsible": {"type": "string"},
            "requested_datetime": {"type": "string"},
            "updated_datetime": {"type": "string", "nullable": True},
            "expected_datetime": {"type": "string", "nullable": True},
            "address": {"type": "string", "nullable": True},
            "lat": {"type": "number"},
            "long": {"type": "number"},
        },
    },
    "Open311RequestList": {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Open311Request"},
    },
    "Open311Filed": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "service_request_id": {"type": "string"},
                "service_notice": {"type": "string"},
                "account_id": {"type": "string", "nullable": True},
            },
        },
    },
    "Open311Discovery": {"type": "object"},
    "Open311Update": {
        "type": "object",
        "properties": {
            "update_id": {"type": "string"},
            "service_request_id": {"type": "string"},
            "status": {"type": "string", "enum": _UPDATE_STATUSES},
            "updated_datetime": {"type": "string"},
            "description": {"type": "string"},
            "media_url": {"type": "string"},
        },
        "required": [
            "update_id",
            "service_request_id",
            "status",
            "updated_datetime",
            "description",
            "media_url",
        ],
    },
    "Open311UpdateList": {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Open311Update"},
    },
    "Open311UpdateReceived": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"update_id": {"type": "string"}},
            "required": ["update_id"],
        },
    },
}

_FILING_FIELDS = {
    "api_key": {"type": "string", "maxLength": 200},
    "jurisdiction_id": {"type": "string", "maxLength": 20},
    "service_code": {"type": "string", "maxLength": 50},
    "lat": {"type": "string", "maxLength": 40},
    "long": {"type": "string", "maxLength": 40},
    "address_string": {"type": "string", "maxLength": 300},
    "description": {"type": "string", "maxLength": 4000},
    "email": {"type": "string", "maxLength": 254},
    "phone": {"type": "string", "maxLength": 40},
    "first_name": {"type": "string", "maxLength": 100},
    "last_name": {"type": "string", "maxLength": 100},
    "media_url": {"type": "string", "maxLength": 2000},
}


_UPDATE_FIELDS = {
    "api_key": {"type": "string", "maxLength": 200},
    "jurisdiction_id": {"type": "string", "maxLength": 20},
    "service_request_id": {"type": "string", "maxLength": 30},
    "update_id": {"type": "string", "maxLength": 100},
    "status": {"type": "string", "enum": _POSTED_STATUSES},
    "updated_datetime": {"type": "string", "format": "date-time", "maxLength": 40},
    "description": {"type": "string", "maxLength": 4000},
    "media_url": {"type": "string", "maxLength": 2000},
}


def paths() -> dict[str, Any]:
    """OpenAPI paths and components of the Open311 API (merged by ``core.api.schema``)."""
    date: dict[str, Any] = {"format": "date-time", "maxLength": 40}
    requests_query = [
        _JURISDICTION,
        _query("service_request_id", "Comma-separated references.", maxLength=2000),
        _query("service_code", "Comma-separated service codes.", maxLength=2000),
        _query("status", "open, closed, or both comma-separated.", maxLength=20),
        _query("start_date", "Requested at or after (W3C date-time).", **date),
        _query("end_date", "Requested before (W3C date-time).", **date),
    ]
    return {
        "paths": {
            f"{PREFIX}/discovery.json": {
                "get": _operation(
                    "open311_discovery",
                    "Service discovery: contact, keys, endpoint and formats.",
                    [],
                    {"200": _ok("Open311Discovery", "The discovery document.")},
                )
            },
            f"{PREFIX}/services.json": {
                "get": _operation(
                    "open311_services",
                    "The subjects a municipality handles.",
                    [_JURISDICTION],
                    {
                        "200": _ok("Open311ServiceList", "Services."),
                        "400": _ERRORS,
                        "404": _ERRORS,
                        "429": _ERRORS,
                    },
                )
            },
            f"{PREFIX}/services/{{service_code}}.json": {
                "get": _operation(
                    "open311_service_definition",
                    "One service's definition: its extra questions (attributes).",
                    [_path("service_code", "A service code, e.g. pothole.", 50), _JURISDICTION],
                    {
                        "200": _ok("Open311ServiceDefinition", "The definition."),
                        "400": _ERRORS,
                        "404": _ERRORS,
                        "429": _ERRORS,
                    },
                )
            },
            f"{PREFIX}/requests.json": {
                "get": _operation(
                    "open311_requests",
                    "Reports of a municipality, newest first, at most 1000.",
                    requests_query,
                    {
                        "200": _ok("Open311RequestList", "Requests."),
                        "400": _ERRORS,
                        "404": _ERRORS,
                        "429": _ERRORS,
                    },
                ),
                "post": {
                    **_operation(
                        "open311_file_request",
                        "File a report (needs an api_key).",
                        [],
                        {
                            "200": _ok("Open311Filed", "The reference of the new report."),
                            "400": _ERRORS,
                            "403": _ERRORS,
                            "404": _ERRORS,
                            "429": _ERRORS,
                        },
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "properties": _FILING_FIELDS,
                                    "required": [
                                        "api_key",
                                        "jurisdiction_id",
                                        "service_code",
                                        "description",
                                    ],
                                }
                            }
                        },
                    },
                },
            },
            f"{PREFIX}/requests/{{service_request_id}}.json": {
                "get": _operation(
                    "open311_request",
                    "One report, as a list of one.",
                    [
                        _path("service_request_id", "A reference, e.g. KOR-2026-000123.", 30),
                        _JURISDICTION,
                    ],
                    {
                        "200": _ok("Open311RequestList", "The request."),
                        "400": _ERRORS,
                        "404": _ERRORS,
                        "429": _ERRORS,
                    },
                )
            },
            f"{PREFIX}/servicerequestupdates.json": {
                "get": _operation(
                    "open311_service_request_updates",
                    "What happened to reports in a window of at most 31 days (mySociety's "
                    "extension), oldest first, all of it.",
                    [
                        _JURISDICTION,
                        _query("start_date", "Updates at or after (W3C date-time).", **date),
                        _query("end_date", "Updates at or before (W3C date-time).", **date),
                    ],
                    {
                        "200": _ok("Open311UpdateList", "Updates."),
                        "400": _ERRORS,
                        "404": _ERRORS,
                        "429": _ERRORS,
                    },
                ),
                "post": {
                    **_operation(
                        "open311_post_service_request_update",
                        "An app's update of a report, applied once per update_id (needs an "
                        "api_key).",
                        [],
                        {
                            "200": _ok("Open311UpdateReceived", "Our update_id for it."),
                            "400": _ERRORS,
                            "403": _ERRORS,
                            "404": _ERRORS,
                            "409": _ERRORS,
                            "429": _ERRORS,
                        },
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "properties": _UPDATE_FIELDS,
                                    "required": [
                                        "api_key",
                                        "jurisdiction_id",
                                        "service_request_id",
                                        "update_id",
                                        "status",
                                        "updated_datetime",
                                    ],
                                }
                            }
                        },
                    },
                },
            },
            f"{PREFIX}/tokens/{{token}}.json": {
                "get": _operation(
                    "open311_token",
                    "Tokens are not used: always 404.",
                    [_path("token", "A token.", 100)],
                    {"404": _ERRORS},
                )
            },
        },
        "components": {"schemas": SCHEMAS},
    }


def other_json_endpoints() -> dict[str, Any]:
    """The contact point's other JSON endpoints: the form's "is it one of these?" list, the
    back offices' status callbacks and the inbound-mail webhook (both authenticated by a
    signature or a shared secret, described so fuzzing covers their refusals too)."""
    error = {
        "description": "Refused, with the reason.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    number = {"type": "string", "maxLength": 40}
    return {
        "paths": {
            "/melden/in-de-buurt/": {
                "get": {
                    "operationId": "meldpunt_nearby_open_reports",
                    "summary": "Open reports of a subject near a point (no personal data).",
                    "tags": ["meldpunt"],
                    "security": [{}],
                    "parameters": [
                        {"name": "lat", "in": "query", "schema": number},
                        {"name": "lng", "in": "query", "schema": number},
                        {
                            "name": "address",
                            "in": "query",
                            "description": "Without lat/lng: a typed address, used when the "
                            "address register is sure of it (else place 'unknown').",
                            "schema": {"type": "string", "maxLength": 300},
                        },
                        {
                            "name": "municipality",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": 20},
                        },
                        {
                            "name": "category",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": 50},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The reports, perhaps none.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "reports": {"type": "array"},
                                            "place": {
                                                "type": "string",
                                                "enum": ["known", "unknown"],
                                            },
                                        },
                                    }
                                }
                            },
                        },
                        "429": error,
                    },
                }
            },
            "/melden/adressen/": {
                "get": {
                    "operationId": "meldpunt_address_suggestions",
                    "summary": "Addresses in the region for what is being typed (the "
                    "geocoder's answer; state 'off' when none is configured).",
                    "tags": ["meldpunt"],
                    "security": [{}],
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": 200},
                        },
                        {
                            "name": "municipality",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": 20},
                        },
                        {
                            "name": "match",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": 5},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The state of the lookup and the places found.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "state": {
                                                "type": "string",
                                                "enum": ["found", "none", "off", "unavailable"],
                                            },
                                            "message": {"type": "string"},
                                            "places": {"type": "array"},
                                        },
                                    }
                                }
                            },
                        },
                        "429": error,
                    },
                }
            },
            "/melden/plaats/": {
                "get": {
                    "operationId": "meldpunt_place_at",
                    "summary": "The nearest address to a point of the region.",
                    "tags": ["meldpunt"],
                    "security": [{}],
                    "parameters": [
                        {"name": "lat", "in": "query", "schema": number},
                        {"name": "lng", "in": "query", "schema": number},
                    ],
                    "responses": {
                        "200": {
                            "description": "The address (or null), whether the point is in "
                            "the region, and its municipality.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "429": error,
                    },
                }
            },
            "/melden/foto-plaats/": {
                "post": {
                    "operationId": "meldpunt_photo_position",
                    "summary": "Where a photo was taken (its EXIF GPS), to offer as the place; "
                    "nothing is stored. Needs the form's CSRF token.",
                    "tags": ["meldpunt"],
                    "security": [{}],
                    "requestBody": {
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"photo": {"type": "string", "format": "binary"}},
                                }
                            }
                        }
                    },
                    "responses": {
                        "200": {
                            "description": "The position and the address near it, or null.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "400": error,
                        "403": {"description": "No valid CSRF token."},
                        "413": error,
                        "429": error,
                    },
                }
            },
            "/meldpunt/connectors/{id}/callback/": {
                "post": {
                    "operationId": "meldpunt_connector_callback",
                    "summary": "A back office's status update (signed; see docs/connectors.md).",
                    "tags": ["meldpunt"],
                    "security": [{}],
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31},
                        }
                    ],
                    "requestBody": {
                        "content": {"application/json": {"schema": {"type": "object"}}}
                    },
                    "responses": {
                        "200": {"description": "Applied, or already applied."},
                        "400": error,
                        "401": error,
                        "404": error,
                        "409": error,
                        "413": error,
                        "429": error,
                    },
                }
            },
            "/meldpunt/mail/inbound/": {
                "post": {
                    "operationId": "meldpunt_mail_inbound",
                    "summary": "An incoming mail as raw MIME (Bearer secret; docs/meldpunt.md).",
                    "tags": ["meldpunt"],
                    "security": [{}],
                    "requestBody": {
                        "content": {
                            "message/rfc822": {"schema": {"type": "string", "format": "binary"}}
                        }
                    },
                    "responses": {
                        "200": {"description": "Stored (also when it could not be read)."},
                        "400": error,
                        "401": error,
                        "404": {"description": "E-mail intake is switched off."},
                        "413": error,
                    },
                }
            },
        }
    }
