"""One OpenAPI schema for the whole platform: what drf-spectacular reads from the DRF views,
plus what modules describe by hand for their other endpoints (``ModuleConfig.openapi``)."""

from __future__ import annotations

from typing import Any

from regiohub.core import modules


def add_module_paths(result: dict[str, Any], generator: Any, request: Any, public: Any) -> dict:
    """drf-spectacular post-processing hook (``SPECTACULAR_SETTINGS``)."""
    for fragment in modules.openapi_fragments():
        result.setdefault("paths", {}).update(fragment.get("paths", {}))
        schemas = result.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(fragment.get("components", {}).get("schemas", {}))
    result["paths"] = dict(sorted(result["paths"].items()))
    return result
