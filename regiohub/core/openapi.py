"""The core's endpoints that drf-spectacular cannot read: the health reports."""

from __future__ import annotations

from typing import Any


def health_paths() -> dict[str, Any]:
    report = {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "string", "enum": ["ok", "error"]},
                        "checks": {"type": "object"},
                    },
                    "required": ["status", "checks"],
                }
            }
        }
    }
    operation = {
        "tags": ["health"],
        "security": [{}],
        "responses": {
            "200": {"description": "Healthy.", **report},
            "503": {"description": "Something needs attention.", **report},
        },
    }
    return {
        "paths": {
            "/health/": {
                "get": {
                    **operation,
                    "operationId": "health",
                    "summary": "The whole platform: database, cache, task queue, workers.",
                }
            },
            "/health/live/": {
                "get": {
                    **operation,
                    "operationId": "health_live",
                    "summary": "For load balancers: can this web process serve?",
                }
            },
        }
    }
