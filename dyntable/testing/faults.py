"""Fault injection between dyntable and DynamoDB, for tests of retries and idempotency.

Two injectors, both seeded (reproducible) with a configurable rate:

- :class:`FaultyTransport` wraps any transport. With probability ``rate`` per call it
  throttles before sending, fails with a 500 *after* the request was applied (the
  ambiguous case), cancels a transaction with ``TransactionConflict`` before sending
  (DynamoDB Local never does), or, for BatchWriteItem / BatchGetItem, sends only a random
  part of the batch and reports the rest as UnprocessedItems / UnprocessedKeys.
- :class:`BotocoreFaults` registers a ``before-send`` handler on a boto3 transport's client
  and answers some HTTP requests itself with a throttling error (400) or an HTTP 500, so
  botocore's own retry loop runs (and its retries show in the transport's hooks).

``DYNTABLE_FAULT_RATE`` and ``DYNTABLE_FAULT_SEED`` set the defaults (0.2 and 1234).
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from dyntable.errors import (
    CancellationReason,
    InternalServerError,
    ThrottlingError,
    TransactionCanceledError,
)
from dyntable.transport.base import READ_OPERATIONS, WRITE_OPERATIONS, Transport

__all__ = ["KINDS", "BotocoreFaults", "FaultyTransport", "fault_rate", "fault_seed"]

#: Fault kinds of :class:`FaultyTransport`.
KINDS = ("throttle", "error_after", "partial", "conflict")
_ITEM_OPERATIONS = READ_OPERATIONS | WRITE_OPERATIONS


def fault_rate(default: float = 0.2) -> float:
    """The injection rate: ``$DYNTABLE_FAULT_RATE`` or ``default``."""
    rate = float(os.environ.get("DYNTABLE_FAULT_RATE", default))
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"DYNTABLE_FAULT_RATE must be between 0 and 1, not {rate}")
    return rate


def fault_seed(default: int = 1234) -> int:
    """The RNG seed: ``$DYNTABLE_FAULT_SEED`` or ``default``."""
    return int(os.environ.get("DYNTABLE_FAULT_SEED", default))


class _Dice:
    """A seeded, thread-safe RNG."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def chance(self, rate: float) -> bool:
        with self._lock:
            return self._rng.random() < rate

    def choice(self, options: Sequence[str]) -> str:
        with self._lock:
            return self._rng.choice(list(options))

    def split(self, n: int) -> list[bool]:
        """Which of ``n`` entries to hold back: at least one, at random."""
        with self._lock:
            held = [self._rng.random() < 0.5 for _ in range(n)]
            if n and not any(held):
                held[self._rng.randrange(n)] = True
            return held


class FaultyTransport:
    """A transport wrapper that injects faults into item operations.

    Args:
        inner: the transport that really sends.
        rate: probability of a fault per call (default ``fault_rate()``).
        seed: RNG seed (default ``fault_seed()``).
        kinds: the fault kinds to use (see :data:`KINDS`); each call draws one that
            applies to its operation.

    ``injected`` counts faults per kind; ``calls`` counts calls. Operations other than item
    reads and writes (table operations, DynamoDB Streams calls) pass through unchanged.
    """

    def __init__(
        self,
        inner: Transport,
        *,
        rate: float | None = None,
        seed: int | None = None,
        kinds: Sequence[str] = KINDS,
    ) -> None:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {KINDS}")
        self.inner = inner
        self.rate = fault_rate() if rate is None else rate
        self.seed = fault_seed() if seed is None else seed
        self.kinds = tuple(kinds)
        self.injected: Counter[str] = Counter()
        self.calls = 0
        self._dice = _Dice(self.seed)
        self._lock = threading.Lock()

    def _applicable(self, operation: str) -> list[str]:
        out: list[str] = [k for k in ("throttle", "error_after") if k in self.kinds]
        if operation in ("BatchWriteItem", "BatchGetItem") and "partial" in self.kinds:
            out.append("partial")
        if operation == "TransactWriteItems" and "conflict" in self.kinds:
            out.append("conflict")
        return out

    def _count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send ``operation``, perhaps injecting one fault."""
        with self._lock:
            self.calls += 1
        kinds = self._applicable(operation) if operation in _ITEM_OPERATIONS else []
        if not kinds or not self._dice.chance(self.rate):
            return self.inner.send(operation, params)
        kind = self._dice.choice(kinds)
        self._count(kind)
        if kind == "throttle":
            raise ThrottlingError("injected throttling", code="ThrottlingException",
                                  operation=operation, status=400)
        if kind == "conflict":
            raise _conflict(operation, len(params.get("TransactItems") or []))
        if kind == "partial":
            return self._partial(operation, params)
        self.inner.send(operation, params)
        err = InternalServerError("injected 500 after the request was applied",
                                  code="InternalServerError", operation=operation, status=500)
        err.maybe_applied = True
        raise err

    def _partial(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "BatchWriteItem":
            return self._partial_write(params)
        return self._partial_get(params)

    def _partial_write(self, params: dict[str, Any]) -> dict[str, Any]:
        sent: dict[str, list[Any]] = {}
        held: dict[str, list[Any]] = {}
        for table, reqs in params["RequestItems"].items():
            for req, hold in zip(reqs, self._dice.split(len(reqs)), strict=True):
                (held if hold else sent).setdefault(table, []).append(req)
        response: dict[str, Any] = {}
        if sent:
            response = self.inner.send("BatchWriteItem", {**params, "RequestItems": sent})
        unprocessed = dict(response.get("UnprocessedItems") or {})
        for table, reqs in held.items():
            unprocessed[table] = [*unprocessed.get(table, []), *reqs]
        return {**response, "UnprocessedItems": unprocessed}

    def _partial_get(self, params: dict[str, Any]) -> dict[str, Any]:
        sent: dict[str, Any] = {}
        held: dict[str, Any] = {}
        for table, spec in params["RequestItems"].items():
            keys = spec["Keys"]
            for key, hold in zip(keys, self._dice.split(len(keys)), strict=True):
                target = held if hold else sent
                target.setdefault(table, {**spec, "Keys": []})["Keys"].append(key)
        response: dict[str, Any] = {"Responses": {}}
        if sent:
            response = self.inner.send("BatchGetItem", {**params, "RequestItems": sent})
        unprocessed = dict(response.get("UnprocessedKeys") or {})
        for table, spec in held.items():
            before = unprocessed.get(table, {}).get("Keys", [])
            unprocessed[table] = {**spec, "Keys": [*before, *spec["Keys"]]}
        return {**response, "UnprocessedKeys": unprocessed}

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()

    def summary(self) -> str:
        """``calls=N throttle=a error_after=b ...`` for test output."""
        parts = [f"{k}={self.injected.get(k, 0)}" for k in self.kinds]
        return f"rate={self.rate} seed={self.seed} calls={self.calls} " + " ".join(parts)


def _conflict(operation: str, count: int) -> TransactionCanceledError:
    err = TransactionCanceledError("injected: Transaction cancelled [TransactionConflict]",
                                   code="TransactionCanceledException", operation=operation,
                                   status=400)
    err.set_reasons([CancellationReason(i, "TransactionConflict" if i == 0 else None,
                                        "injected conflict" if i == 0 else None)
                     for i in range(max(count, 1))])
    return err


class _Body:
    """The raw body of an injected botocore response."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_kw: Any) -> Iterator[bytes]:
        yield self.data


class BotocoreFaults:
    """Injects HTTP-level faults through a botocore ``before-send`` handler.

    Args:
        transport: a :class:`~dyntable.transport.boto3.Boto3Transport` (or anything with a
            botocore ``client``).
        rate: probability of a fault per HTTP attempt (default ``fault_rate()``).
        seed: RNG seed (default ``fault_seed()``).
        kinds: ``"throttle"`` (400 ProvisionedThroughputExceededException) and/or
            ``"http500"`` (500 InternalServerError).
        operations: the DynamoDB operations to affect (default: item operations).

    Use as a context manager, or call ``install()`` / ``uninstall()``. ``injected`` counts
    faults per kind.
    """

    def __init__(
        self,
        transport: Any,
        *,
        rate: float | None = None,
        seed: int | None = None,
        kinds: Sequence[str] = ("throttle", "http500"),
        operations: frozenset[str] = _ITEM_OPERATIONS,
    ) -> None:
        self.client = getattr(transport, "client", transport)
        self.rate = fault_rate() if rate is None else rate
        self.seed = fault_seed() if seed is None else seed
        self.kinds = tuple(kinds)
        self.operations = operations
        self.injected: Counter[str] = Counter()
        self.attempts = 0
        self._dice = _Dice(self.seed)
        self._lock = threading.Lock()

    def _handler(self, request: Any, event_name: str = "", **_kw: Any) -> Any:
        operation = event_name.rsplit(".", 1)[-1]
        if operation not in self.operations:
            return None
        with self._lock:
            self.attempts += 1
        if not self._dice.chance(self.rate):
            return None
        kind = self._dice.choice(self.kinds)
        with self._lock:
            self.injected[kind] += 1
        return _response(request.url, kind)

    def install(self) -> BotocoreFaults:
        """Start injecting."""
        self.client.meta.events.register("before-send.dynamodb", self._handler,
                                         unique_id=f"dyntable-faults-{id(self)}")
        return self

    def uninstall(self) -> None:
        """Stop injecting."""
        self.client.meta.events.unregister("before-send.dynamodb",
                                           unique_id=f"dyntable-faults-{id(self)}")

    def __enter__(self) -> BotocoreFaults:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()


def _response(url: str, kind: str) -> Any:
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    if kind == "throttle":
        status, code = 400, "ProvisionedThroughputExceededException"
    else:
        status, code = 500, "InternalServerError"
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}",
                       "message": f"injected {kind}"}).encode()
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    headers["Content-Length"] = str(len(body))
    return AWSResponse(url, status, headers, _Body(body))
