"""``RoutingTransport``: sends each call to one of several transports.

Routes are chosen in order: the first predicate rule that matches, then the route for the
operation name, then ``default``. For example, reads through DAX and everything else
straight to DynamoDB::

    RoutingTransport(boto, {"GetItem": dax, "Query": dax, "BatchGetItem": dax})

or table operations to a boto3 transport whatever the default::

    RoutingTransport(dax, dict.fromkeys(TABLE_OPERATIONS, boto))

DynamoDB Streams calls (``DescribeStream``, ``GetShardIterator``, ``GetRecords``,
``ListStreams``) are routed like any other operation, unchanged: to ``default`` unless a
rule or a route claims them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from dyntable.transport.base import Params, Response, Transport

__all__ = ["Predicate", "RoutingTransport"]

#: ``predicate(operation, params) -> bool``
Predicate = Callable[[str, Params], bool]


class RoutingTransport:
    """Routes calls by predicate, then by operation name, else to ``default``.

    Args:
        default: the transport for calls no route claims.
        routes: operation name (``"GetItem"``) -> transport.
        rules: ``(predicate, transport)`` pairs, tried first and in order; a predicate
            gets the operation and the parameters (it must not change them).
    """

    name = "routing"

    def __init__(
        self,
        default: Transport,
        routes: Mapping[str, Transport] | None = None,
        *,
        rules: Sequence[tuple[Predicate, Transport]] = (),
    ) -> None:
        self.default = default
        self.routes = dict(routes or {})
        self.rules = list(rules)

    def route(self, operation: str, params: Params) -> Transport:
        """The transport that ``operation`` with ``params`` goes to."""
        for predicate, transport in self.rules:
            if predicate(operation, params):
                return transport
        return self.routes.get(operation, self.default)

    def send(self, operation: str, params: Params) -> Response:
        """Send through the chosen transport."""
        return self.route(operation, params).send(operation, params)

    def transports(self) -> list[Transport]:
        """Every distinct transport this one may send to (default first)."""
        seen: list[Any] = []
        candidates: Iterable[Transport] = [
            self.default, *self.routes.values(), *(t for _, t in self.rules)
        ]
        for transport in candidates:
            if not any(transport is s for s in seen):
                seen.append(transport)
        return seen

    def close(self) -> None:
        """Close each distinct transport once."""
        for transport in self.transports():
            transport.close()

    def __enter__(self) -> RoutingTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
