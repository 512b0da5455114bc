"""The OpenAPI 3.1 document of the API, derived from the route table and the contract models.

Nothing is listed by hand: operations come from `api.routes.ROUTES`, schemas from the pydantic
models, genres and services from the catalog and the registry. Built once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from tunemeld.api.answers import encode_json
from tunemeld.api.routes import MAX_PATH_PART, ROUTES, Route
from tunemeld.models import Genre, Service
from tunemeld.services.health import HealthReport

__all__ = ["OPENAPI_VERSION", "build_document", "document_bytes"]

OPENAPI_VERSION = "3.1.0"
_REF = "#/components/schemas/{model}"
_PRINTABLE_ASCII = "^[ -~]+$"

_ERROR = {"$ref": "#/components/responses/Error"}
_ERRORS = {
    "400": "Bad input: a missing query parameter or an absurd path part.",
    "404": "Unknown genre, service or recording (or not an ISRC), or no data for the genre "
    "yet (run the ETL).",
    "503": "The store is unavailable.",
    "500": "An unexpected failure (logged); the body never carries a traceback.",
}


def _model_of(annotation: Any) -> tuple[type[BaseModel], bool]:
    """(model, is_list) for a route's data type: a pydantic model or a list of one."""
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        return item, True
    return annotation, False


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": _REF.format(model=model.__name__)}


def _data_schema(annotation: Any) -> dict[str, Any]:
    model, is_list = _model_of(annotation)
    return {"type": "array", "items": _ref(model)} if is_list else _ref(model)


def _envelope(status: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status", "message", "data"],
        "additionalProperties": False,
        "properties": {
            "status": {"const": status},
            "message": {"type": "string"},
            "data": data,
        },
    }


def _name_schema(values: list[str]) -> dict[str, Any]:
    """A path or query part: printable, short (the API refuses anything else)."""
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_PATH_PART,
        "pattern": _PRINTABLE_ASCII,
        "examples": values,
    }


def _parameters(route: Route, genres: Sequence[Genre]) -> list[dict[str, Any]]:
    known = {
        "genre": ([g.value for g in genres], "A genre of the playlist catalog"),
        "service": ([s.value for s in Service], "A playlist service"),
    }
    params: list[dict[str, Any]] = []
    for name in route.params:
        if name == "isrc":
            values = ["USUG12503301"]
            description = (
                "An ISRC (12 characters; case, dashes and spaces forgiven); one TuneMeld "
                "does not know, or text that is no ISRC, answers 404."
            )
        else:
            values, what = known[name]
            description = (
                f"{what}: one of {', '.join(values)} (case-insensitive); another name answers 404."
            )
        params.append(
            {
                "name": name,
                "in": "path" if name in route.path_params else "query",
                "required": True,
                "description": description,
                "schema": _name_schema(values),
            }
        )
    if route.is_data or route.kind == "track":
        params.append(
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "An ETag from an earlier answer: 304 while it is unchanged.",
                "schema": {"type": "string"},
            }
        )
    return params


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _responses(route: Route) -> dict[str, Any]:
    responses: dict[str, Any]
    if route.kind in ("view", "plain", "track"):
        data = _data_schema(route.data)
        body = _envelope("success", data) if route.kind != "plain" else data
        responses = {
            "200": {
                "description": route.summary,
                "headers": {
                    "ETag": {"description": "The view's version.", "schema": {"type": "string"}},
                    "Cache-Control": {"schema": {"type": "string"}},
                },
                "content": _json(body),
            },
            "304": {"description": "Not modified (If-None-Match names the current ETag)."},
        }
        responses.update(dict.fromkeys(_ERRORS, _ERROR))
        return responses
    if route.kind == "health":
        report = _ref(HealthReport)
        return {
            "200": {
                "description": "Healthy or degraded.",
                "content": _json(_envelope("success", report)),
            },
            "503": {
                "description": "The store is unavailable (the report says why).",
                "content": _json(_envelope("error", report)),
            },
            "500": _ERROR,
        }
    if route.kind == "metrics":
        text = {"text/plain": {"schema": {"type": "string"}}}
        return {"200": {"description": "Prometheus text format.", "content": text}, "500": _ERROR}
    if route.kind == "openapi":
        document = _json({"type": "object", "required": ["openapi", "paths"]})
        return {"200": {"description": "This document.", "content": document}, "500": _ERROR}
    index = _envelope("success", _data_schema(route.data))
    return {
        "200": {
            "description": "The page for a browser (text/html); the route index for "
            "`Accept: application/json`.",
            "content": {**_json(index), "text/html": {"schema": {"type": "string"}}},
        },
        "500": _ERROR,
    }


def _openapi_path(rule: str) -> str:
    """`/graph-data/<genre>` -> `/graph-data/{genre}`."""
    return rule.replace("<", "{").replace(">", "}")


def _components() -> dict[str, Any]:
    models: list[type[BaseModel]] = [HealthReport]
    for route in ROUTES:
        if route.data is not None:
            model, _ = _model_of(route.data)
            if model not in models:
                models.append(model)
    _, defs = models_json_schema(
        [(model, "serialization") for model in models], ref_template=_REF, by_alias=True
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    return {
        "schemas": schemas,
        "responses": {
            "Error": {
                "description": " ".join(f"{code}: {text}" for code, text in _ERRORS.items()),
                "content": _json(_envelope("error", {"type": "null"})),
            }
        },
    }


def build_document(version: str, genres: Sequence[Genre]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route (GET, and the CORS preflight OPTIONS)."""
    paths: dict[str, Any] = {}
    for route in ROUTES:
        parameters = _parameters(route, genres)
        paths[_openapi_path(route.rule)] = {
            "get": {
                "operationId": route.operation_id,
                "summary": route.summary,
                "parameters": parameters,
                "responses": _responses(route),
            },
            "options": {
                "operationId": f"{route.operation_id}Preflight",
                "summary": "CORS preflight: answered whatever the path's names are.",
                "parameters": [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    for name in route.path_params
                ],
                "responses": {"204": {"description": "The allowed methods and headers."}},
            },
        }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "TuneMeld API",
            "version": version,
            "description": "Cross-service music charts. Every JSON answer of the Django-style "
            'routes is the envelope {"status", "message", "data"}; the worker-style /api/... '
            'routes answer the data alone. Errors always carry the envelope with status "error".',
        },
        "paths": paths,
        "components": _components(),
    }


def document_bytes(version: str, genres: tuple[Genre, ...]) -> bytes:
    """The encoded document, built once per process, version, genre and service list."""
    return _document_bytes(version, genres, tuple(Service))


@functools.cache
def _document_bytes(version: str, genres: tuple[Genre, ...], _: tuple[Service, ...]) -> bytes:
    return encode_json(build_document(version, genres))
