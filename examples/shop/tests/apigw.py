"""API Gateway as the tests see it: JSON events built from the fixtures in ``events/``.

``Caller("acme")`` is a user signed in to the Cognito user pool with ``custom:tenant`` =
``acme``; calling it builds the event API Gateway would send for that request (REST API or
HTTP API payload), runs ``shopapi.api.handler`` on it and returns the reply.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shopapi import api

EVENTS = Path(__file__).parent / "events"
Shape = Literal["rest", "http"]


def load_event(name: str) -> dict[str, Any]:
    """A fixture event, e.g. ``load_event("stream_orders_placed")``."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def match_route(path: str) -> tuple[str, dict[str, str]]:
    """The route template and path parameters API Gateway would find for ``path``."""
    for template in sorted({t for _, t in api.ROUTES}, key=lambda t: t.count("{")):
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        found = re.fullmatch(pattern, path)
        if found:
            return template, found.groupdict()
    raise AssertionError(f"no route for {path} (API Gateway would answer 404 itself)")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text) if self.text else None

    def error_fields(self) -> list[str]:
        return [f["field"] for f in self.json["error"].get("fields", [])]


@dataclass
class Caller:
    """A signed-in user of ``tenant`` (None: a token without the claim)."""

    tenant: str | None
    shape: Shape = "rest"
    context: Any = field(default=None)

    def event(self, method: str, path: str, *, body: Any = None,
              query: dict[str, str] | None = None,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
        route, params = match_route(path)
        text = body if isinstance(body, str) or body is None else json.dumps(body)
        if self.shape == "rest":
            return self._rest(method, path, route, params, text, query, headers or {})
        return self._http(method, path, route, params, text, query, headers or {})

    def __call__(self, method: str, path: str, *, body: Any = None,
                 query: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None) -> Reply:
        event = self.event(method, path, body=body, query=query, headers=headers)
        out = api.handler(event, self.context)
        return Reply(out["statusCode"], out["headers"], out["body"])

    def _claims(self, claims: dict[str, Any]) -> None:
        if self.tenant is None:
            claims.pop("custom:tenant")
        else:
            claims["custom:tenant"] = self.tenant

    def _rest(self, method: str, path: str, route: str, params: dict[str, str],
              body: str | None, query: dict[str, str] | None,
              headers: dict[str, str]) -> dict[str, Any]:
        event = copy.deepcopy(load_event("rest_api_event"))
        ctx = event["requestContext"]
        event.update(resource=route, path=path, httpMethod=method, body=body,
                     pathParameters=params or None, queryStringParameters=query or None,
                     multiValueQueryStringParameters=(
                         {k: [v] for k, v in query.items()} if query else None))
        event["headers"].update(headers)
        event["multiValueHeaders"].update({k: [v] for k, v in headers.items()})
        ctx.update(resourcePath=route, httpMethod=method, path=f"/{ctx['stage']}{path}")
        self._claims(ctx["authorizer"]["claims"])
        return event

    def _http(self, method: str, path: str, route: str, params: dict[str, str],
              body: str | None, query: dict[str, str] | None,
              headers: dict[str, str]) -> dict[str, Any]:
        event = copy.deepcopy(load_event("http_api_event"))
        ctx = event["requestContext"]
        event.update(routeKey=f"{method} {route}", rawPath=path,
                     rawQueryString="&".join(f"{k}={v}" for k, v in (query or {}).items()))
        event["headers"].update({k.lower(): v for k, v in headers.items()})
        for key, value in (("pathParameters", params), ("queryStringParameters", query),
                           ("body", body)):
            event.pop(key, None)  # HTTP API leaves out what the request does not have
            if value:
                event[key] = value
        ctx["http"].update(method=method, path=path)
        ctx["routeKey"] = event["routeKey"]
        self._claims(ctx["authorizer"]["jwt"]["claims"])
        return event
