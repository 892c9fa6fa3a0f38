"""The OpenAPI document: every error answer documented as problem+json, and `Idempotency-Key`
on every POST."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.problems import MEDIA_TYPE, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# What any /v1 operation may answer besides success; a POST may also be refused or out of date.
V1_ERRORS = {
    "401": "No valid bearer token",
    "403": "The caller may not do this",
    "404": "Not found, or not visible to the caller",
    "422": "Invalid input; `errors` names the fields",
    "429": "Too many tokens that were not valid from this address; retry after `Retry-After`",
    "503": "The database is away or too slow (`database_unavailable`); retry after `Retry-After`",
}
POST_ERRORS = {
    "400": "The body could not be read (e.g. not UTF-8)",
    "413": "The body is larger than 1 MiB",
    "409": "Refused by a lifecycle rule (`code` says which)",
    "412": "`If-Match` does not match the case version",
}
CASE_REF = "#/components/schemas/Case"
ETAG = {
    "ETag": {
        "description": 'The case version, "7"; send it back as If-Match.',
        "schema": {"type": "string"},
    }
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retry with the same key and body gets the stored answer (24 h); "
    "the same key with another body answers 422 idempotency_key_reused.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {"Problem": schema, **definitions}


def _document(operation: dict[str, Any], path: str, method: str) -> None:
    responses = operation.setdefault("responses", {})
    if path.startswith("/v1/"):
        errors = V1_ERRORS | (POST_ERRORS if method == "post" else {})
        for status, description in errors.items():
            responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if status[0] in "45":
            response["content"] = {MEDIA_TYPE: {"schema": PROBLEM_REF}}
        elif response.get("content", {}).get("application/json", {}).get("schema") == {
            "$ref": CASE_REF
        }:
            response["headers"] = ETAG
    if method == "post" and path.startswith("/v1/"):
        operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    for parameter in operation.get("parameters", []):
        parameter["schema"] = _never_null(parameter.get("schema", {}))


def _never_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter left out is absent, never JSON null: `str | None` is given as the string."""
    choices = schema.get("anyOf")
    if not isinstance(choices, list) or {"type": "null"} not in choices:
        return schema
    rest = [choice for choice in choices if choice != {"type": "null"}]
    kept = {key: value for key, value in schema.items() if key != "anyOf"}
    return kept | rest[0] if len(rest) == 1 else kept | {"anyOf": rest}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for path, operations in schema["paths"].items():
                for method, operation in operations.items():
                    _document(operation, path, method)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
            components.update(_problem_schemas())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
