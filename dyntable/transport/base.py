"""The transport boundary: one small interface that sends one DynamoDB call.

Operations build requests (DynamoDB low-level parameters, AttributeValues in the
boto3 client's wire form: ``{"S": "x"}``, ``{"N": "1"}``, ``{"B": b"..."}``); a
transport sends one and returns the response dict, or raises a
:class:`~dyntable.errors.ServiceError` / :class:`~dyntable.errors.TransportError`.
Transports know nothing of models. Binary values in responses may arrive as bytes or as
base64 text (the JSON protocol); the codec accepts both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = [
    "READ_OPERATIONS",
    "TABLE_OPERATIONS",
    "WRITE_OPERATIONS",
    "AsyncTransport",
    "CallEvent",
    "Hook",
    "Transport",
    "TransportBase",
    "not_idempotent",
    "resend_allowed",
]

Params = dict[str, Any]
_T = TypeVar("_T", bound="TransportBase")
Response = dict[str, Any]

#: Operations that read items.
READ_OPERATIONS = frozenset(
    {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "ExecuteStatement"}
)
#: Operations that write items.
WRITE_OPERATIONS = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
#: Control-plane operations (DAX does not serve these).
TABLE_OPERATIONS = frozenset(
    {
        "CreateTable",
        "DeleteTable",
        "DescribeTable",
        "UpdateTable",
        "ListTables",
        "UpdateTimeToLive",
        "DescribeTimeToLive",
        "DescribeContinuousBackups",
        "TagResource",
        "ListTagsOfResource",
    }
)


# -- ambiguous failures -------------------------------------------------------------------
#
# A failed attempt "may have been applied" when the request was sent in full and then got a
# 5xx, no answer (timeout, dropped connection) or a corrupt success. Transports that retry
# by themselves follow two rules:
#
# * such an attempt is resent only while :func:`resend_allowed` is true (the caller runs a
#   write that could apply twice inside :func:`not_idempotent`);
# * the error finally raised has ``maybe_applied = True`` when any attempt of the call may
#   have been applied (also when the last attempt failed otherwise, e.g. its condition).
#
# The option travels in a context variable, so wrapping transports (cache, routing,
# metering, fault injection, your own) pass it on without knowing about it.

_RESEND: ContextVar[bool] = ContextVar("dyntable_resend_ambiguous", default=True)


def resend_allowed() -> bool:
    """May the call being sent be resent after an attempt that may have been applied?"""
    return _RESEND.get()


@contextmanager
def not_idempotent() -> Iterator[None]:
    """Calls sent inside this block are not resent after an ambiguous failure."""
    token = _RESEND.set(False)
    try:
        yield
    finally:
        _RESEND.reset(token)


@dataclass
class CallEvent:
    """What a transport reports after each call (for logging and metrics hooks).

    Never holds credentials or item values: only the operation, table, timing,
    retries, capacity and the error class.
    """

    operation: str
    table: str | None
    duration: float
    attempts: int = 1
    error: str | None = None
    consumed_capacity: Any = None
    transport: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def retries(self) -> int:
        """Retries made after the first attempt."""
        return max(0, self.attempts - 1)


Hook = Callable[[CallEvent], None]


@runtime_checkable
class Transport(Protocol):
    """Sends one DynamoDB low-level call. Implementations must be thread-safe.

    A transport that retries by itself honours :func:`resend_allowed` and marks errors
    ``maybe_applied`` (see the rules above :func:`resend_allowed`).
    """

    def send(self, operation: str, params: Params) -> Response:
        """Send ``operation`` (e.g. ``"PutItem"``) with ``params``; return the response."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class AsyncTransport(Protocol):
    """Sends one DynamoDB low-level call from asyncio code (the async client's boundary).

    Same contract as :class:`Transport` (wire-form params and responses, dyntable errors,
    the ambiguity rules above :func:`resend_allowed`), awaited. Implementations must be
    safe to use from several tasks at once, and must not create an event loop when they are
    built: connections are opened on first use, in the running loop.
    """

    async def send(self, operation: str, params: Params) -> Response:
        """Send ``operation`` with ``params``; return the response."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def table_of(params: Params) -> str | None:
    """The table a request is for, when it names one directly."""
    name = params.get("TableName")
    return name if isinstance(name, str) else None


class TransportBase:
    """Helpers shared by transports: hooks and per-operation counters."""

    name = "transport"

    def __init__(self, hooks: list[Hook] | None = None) -> None:
        self.hooks: list[Hook] = list(hooks or [])
        self.calls = 0
        self.retries = 0

    def add_hook(self, hook: Hook) -> None:
        """Call ``hook(event)`` after every call this transport sends."""
        self.hooks.append(hook)

    def emit(self, event: CallEvent) -> None:
        """Count the call and pass ``event`` to the hooks."""
        self.calls += 1
        self.retries += event.retries
        for hook in self.hooks:
            hook(event)

    @contextmanager
    def timed(self, operation: str, params: Params) -> Iterator[CallEvent]:
        """Time a call; the body fills ``attempts`` / ``consumed_capacity`` / ``error``."""
        event = CallEvent(operation, table_of(params), 0.0, transport=self.name)
        start = time.perf_counter()
        try:
            yield event
        except BaseException as exc:
            event.error = type(exc).__name__
            raise
        finally:
            event.duration = time.perf_counter() - start
            self.emit(event)

    def close(self) -> None:
        """Release connections (nothing by default)."""

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
