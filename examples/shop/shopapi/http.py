"""API Gateway events in, API Gateway responses out; errors as JSON with an HTTP status.

Both API Gateway flavours call the same handler:

- REST API (payload 1.0): ``httpMethod`` + ``resource``; a Cognito user pool authorizer
  puts the verified token claims in ``requestContext.authorizer.claims``.
- HTTP API (payload 2.0): ``routeKey``; a JWT authorizer puts them in
  ``requestContext.authorizer.jwt.claims``.

The tenant is read from the verified ``custom:tenant`` claim only. A tenant in the path
(``/tenants/{tenant}/...``) must equal it (403 otherwise); bodies refuse unknown fields, so
``{"tenant": ...}`` in a body is a 400, never a way into another tenant's data.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dyntable.errors import (
    CursorError,
    DyntableError,
    ItemExistsError,
    ItemNotFoundError,
    ThrottlingError,
    VersionConflictError,
)

__all__ = ["HttpError", "Request", "error_response", "json_response", "parse_request"]

log = logging.getLogger("shopapi")

TENANT_CLAIM = "custom:tenant"
_TENANT = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ETAG = re.compile(r'(?:W/)?"?(\d{1,12})"?')
MAX_PAGE = 100

B = TypeVar("B", bound=BaseModel)


class HttpError(Exception):
    """An error answer: ``status``, a stable ``code``, a message and the fields at fault."""

    def __init__(self, status: int, code: str, message: str,
                 fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []

    def response(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        return json_response(self.status, {"error": error})


def invalid(field: str, message: str) -> HttpError:
    """A 400 naming one field."""
    return HttpError(400, "validation_error", f"invalid {field}",
                     [{"field": field, "message": message}])


@dataclass(frozen=True)
class Request:
    """What a route needs from an API Gateway event, whichever its payload version."""

    method: str
    route: str  # the route template, e.g. "/tenants/{tenant}/customers/{customer_id}"
    path: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names in lower case
    body: str
    tenant: str  # from the verified token, never from the request

    def path_id(self, name: str) -> str:
        """A path parameter that is an id (400 naming it when malformed)."""
        value = self.path.get(name, "")
        if not _ID.fullmatch(value):
            raise invalid(name, "1-64 letters, digits, '-' or '_'")
        return value

    def limit(self, default: int = 20) -> int:
        """The ``?limit=`` page size, 1 to 100."""
        raw = self.query.get("limit")
        if raw is None:
            return default
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
            raise invalid("limit", f"an integer from 1 to {MAX_PAGE}")
        return int(raw)

    def cursor(self) -> str | None:
        """The opaque ``?cursor=`` of the next page (checked by dyntable when used)."""
        return self.query.get("cursor") or None

    def json(self, model: type[B]) -> B:
        """The body validated by ``model`` (400 naming each field at fault)."""
        try:
            data = json.loads(self.body) if self.body else None
        except ValueError:
            raise invalid("body", "not valid JSON") from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            fields = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
                      for e in exc.errors()]
            raise HttpError(400, "validation_error", "the body is not valid", fields) from None

    def expected_version(self, from_body: int | None) -> int:
        """The version the client read: ``If-Match: "3"`` or ``"version": 3`` in the body."""
        header = self.headers.get("if-match")
        if header is not None:
            match = _ETAG.fullmatch(header.strip())
            if match is None:
                raise invalid("If-Match", 'an ETag from this API, e.g. "3"')
            return int(match.group(1))
        if from_body is None:
            raise HttpError(428, "precondition_required",
                            "send the version you read (If-Match header or 'version')")
        return from_body


def _claims(event: Mapping[str, Any]) -> Mapping[str, Any]:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    if event.get("version") == "2.0":
        authorizer = authorizer.get("jwt") or {}
    claims = authorizer.get("claims")
    return claims if isinstance(claims, Mapping) else {}


def parse_request(event: Mapping[str, Any]) -> Request:
    """The request of a REST API (1.0) or HTTP API (2.0) proxy event.

    Raises:
        HttpError: 403 when the token has no valid tenant claim, or names another tenant
            than the path.
    """
    if event.get("version") == "2.0":
        method, _, route = str(event.get("routeKey", "")).partition(" ")
    else:
        method, route = str(event.get("httpMethod", "")), str(event.get("resource", ""))
    body = event.get("body") or ""
    if event.get("isBase64Encoded") and body:
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    tenant = str(_claims(event).get(TENANT_CLAIM, ""))
    if not _TENANT.fullmatch(tenant):
        raise HttpError(403, "forbidden", "the token carries no valid tenant")
    path = dict(event.get("pathParameters") or {})
    if "tenant" in path and path["tenant"] != tenant:
        raise HttpError(403, "forbidden", "the token is not valid for this tenant")
    return Request(
        method=method.upper(),
        route=route,
        path=path,
        query=dict(event.get("queryStringParameters") or {}),
        headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
        body=body,
        tenant=tenant,
    )


def json_response(status: int, body: Any = None,
                  headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A proxy-integration response (understood by both payload versions)."""
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": "" if body is None else json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def error_response(exc: Exception, request_id: str | None) -> dict[str, Any]:
    """The answer for an exception a route let through; internals are logged, not sent."""
    if isinstance(exc, HttpError):
        return exc.response()
    if isinstance(exc, CursorError):
        return invalid("cursor", "not a cursor of this listing").response()
    if isinstance(exc, ItemExistsError):
        return HttpError(409, "already_exists", "it exists already").response()
    if isinstance(exc, VersionConflictError):
        return HttpError(409, "version_conflict",
                         "changed since you read it: read it again").response()
    if isinstance(exc, ItemNotFoundError):
        return HttpError(404, "not_found", "not found").response()
    if isinstance(exc, ThrottlingError):
        return HttpError(503, "busy", "try again shortly").response()
    kind = "dyntable" if isinstance(exc, DyntableError) else "unexpected"
    log.exception("request %s failed (%s error)", request_id or "?", kind)
    return HttpError(500, "internal_error",
                     f"internal error (request id {request_id or 'unknown'})").response()
