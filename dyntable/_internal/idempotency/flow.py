"""One idempotent call as a flow: claim the record, run the body, complete or release.

The flow does no I/O. It yields steps and receives their outcome; a driver runs them
(:func:`drive` for the sync client, :func:`drive_async` for the asyncio one):

* :class:`Call` ``fn(db)``: a call on the client's public API (``put``, ``get``,
  ``update(...).execute()``, ``delete``); the async driver awaits what it returns;
* :class:`Pause`: sleep (waiting for another call's record);
* :data:`RUN_BODY`: run the user's function.

Writes, each one request:

* claim: ``PutItem`` of an INPROGRESS record with a fresh token, on condition that there
  is no record, or that it has expired (TTL time passed, or in progress past its
  in-progress expiry). A failed claim returns the stored record (no extra read), which
  decides: completed -> its result is replayed; in progress -> wait or raise.
* complete: ``UpdateItem`` to COMPLETED with the result, on condition that the token is
  still this claim's (a call that took over an expired claim is never overwritten).
* release (the body raised): ``DeleteItem`` on the same token condition.
"""

from __future__ import annotations

import inspect
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Generator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from dyntable._internal.idempotency.errors import (
    IdempotencyInProgressError,
    IdempotencyPayloadMismatchError,
    IdempotencyResultError,
)
from dyntable._internal.idempotency.record import IdempotencyRecord, Status
from dyntable._internal.idempotency.results import LocalCache, Serializer
from dyntable.errors import (
    ConditionalCheckFailedError,
    DyntableError,
    ForeignItemError,
    OutcomeUnknownError,
)
from dyntable.expressions.conditions import Condition
from dyntable.expressions.paths import F

__all__ = ["RUN_BODY", "Call", "Pause", "Plan", "drive", "drive_async", "idempotent_flow"]

log = logging.getLogger("dyntable.idempotency")

#: Claims that failed yet found no live record (it was released or expired meanwhile)
#: before the call gives up with IdempotencyInProgressError.
MAX_CLAIMS = 4


@dataclass(frozen=True)
class Call:
    """A client call: ``fn(db)`` returns the result (or, on the async client, an awaitable)."""

    fn: Callable[[Any], Any]


@dataclass(frozen=True)
class Pause:
    """Sleep ``seconds``."""

    seconds: float


class _RunBody:
    def __repr__(self) -> str:
        return "RUN_BODY"


#: Run the user's function; the flow receives its result, or its exception thrown in.
RUN_BODY = _RunBody()

Step = Call | Pause | _RunBody
IdempotentFlow = Generator[Step, Any, Any]


@dataclass
class Plan:
    """Everything one idempotent call needs (built per call by ``Idempotency``).

    Attributes:
        model: the record model.
        scope / digest: the record's key fields.
        payload_hash: ``None`` when payloads are not validated.
        in_progress_ms: how long a claim holds (the Lambda context's remaining time, or
            the configured timeout), in milliseconds.
    """

    model: type[IdempotencyRecord]
    scope: str
    digest: str
    payload_hash: str | None
    serializer: Serializer
    expires_after: int
    in_progress_ms: int
    clock: Callable[[], datetime]
    on_in_progress: Literal["raise", "wait"] = "raise"
    wait_timeout: float = 60.0
    cache: LocalCache | None = None
    response_hook: Callable[[Any, IdempotencyRecord], Any] | None = None
    monotonic: Callable[[], float] = field(default=time.monotonic)

    @property
    def cache_key(self) -> str:
        """The record's key text (unique per table)."""
        return f"{self.model.prefix}#{self.scope}#{self.digest}"

    def now_ms(self) -> int:
        """The clock's time in epoch milliseconds."""
        now = self.clock()
        if now.tzinfo is None or now.utcoffset() is None:
            now = now.replace(tzinfo=timezone.utc)
        return int(now.timestamp() * 1000)

    def new_record(self, now_ms: int) -> IdempotencyRecord:
        """An INPROGRESS record with a fresh token. Its TTL time covers the claim too (a
        claim longer than ``expires_after`` is not cut short)."""
        until = now_ms + self.in_progress_ms
        fields: dict[str, Any] = {
            "scope": self.scope, "digest": self.digest, "status": Status.IN_PROGRESS.value,
            "token": secrets.token_hex(16), "in_progress_expiration": until,
            "payload_hash": self.payload_hash,
            self.model.ttl_name: max(now_ms // 1000 + self.expires_after, -(-until // 1000))}
        return self.model(**fields)

    def claim_condition(self, now_ms: int) -> Condition:
        """No record, or an expired one (the record's :meth:`~IdempotencyRecord.state`)."""
        return (F.status.not_exists() | (F[self.model.ttl_name] < now_ms // 1000)
                | ((F.status == Status.IN_PROGRESS.value)
                   & (F.in_progress_expiration < now_ms)))

    def get(self) -> Call:
        """Read the record (consistently)."""
        model, scope, digest = self.model, self.scope, self.digest
        return Call(lambda db: db.get(model, consistent=True, scope=scope, digest=digest))

    def decode(self, item: dict[str, Any]) -> IdempotencyRecord:
        """The record of a wire item (returned by a failed condition)."""
        from dyntable.codec import codec_for

        record: IdempotencyRecord = codec_for(self.model).decode(item)
        return record

    def check_payload(self, record: IdempotencyRecord) -> None:
        """Raise when ``record`` was stored for another payload."""
        stored, mine = record.payload_hash, self.payload_hash
        if stored is not None and mine is not None and stored != mine:
            raise IdempotencyPayloadMismatchError(
                f"{self.scope}: idempotency key {self.digest[:12]}... was used with another "
                f"payload (stored payload hash {stored[:12]}..., this call's {mine[:12]}...); "
                "the stored result belongs to that request. Use a new key for a new request",
                stored_hash=stored, payload_hash=mine, scope=self.scope, key_hash=self.digest)

    def in_progress(self, record: IdempotencyRecord | None) -> IdempotencyInProgressError:
        """The error for a key another call is working on."""
        until = None
        if record is not None and record.in_progress_expiration is not None:
            until = datetime.fromtimestamp(record.in_progress_expiration / 1000, timezone.utc)
        when = f" (its claim expires at {until.isoformat()})" if until else ""
        return IdempotencyInProgressError(
            f"{self.scope}: another call with idempotency key {self.digest[:12]}... is in "
            f"progress{when}; retry later to get its result",
            until=until, scope=self.scope, key_hash=self.digest)

    def replay(self, record: IdempotencyRecord) -> Any:
        """The stored result of a completed record (through the response hook)."""
        result = self.serializer.loads(record.data or "null")
        if self.cache is not None:
            self.cache.put(self.cache_key, record)
        if self.response_hook is not None:
            result = self.response_hook(result, record)
        return result


def idempotent_flow(plan: Plan) -> IdempotentFlow:
    """Run the body at most once per live record; return its result or the stored one."""
    if plan.cache is not None:
        hit = plan.cache.get(plan.cache_key, plan.now_ms() // 1000)
        if hit is not None:
            plan.check_payload(hit)
            return plan.replay(hit)
    record, stored = yield from _claim(plan)
    if record is None:
        return plan.replay(stored)
    try:
        result = yield RUN_BODY
    except Exception:
        yield from _release(plan, record)
        raise
    yield from _complete(plan, record, result)
    return result


def _claim(plan: Plan) -> Generator[Step, Any, tuple[Any, Any]]:
    """``(claimed record, None)``, or ``(None, completed record)``; raises when another
    call holds the key (after waiting, with ``on_in_progress="wait"``)."""
    deadline = plan.monotonic() + plan.wait_timeout
    pause = 0.05
    stored: IdempotencyRecord | None = None
    misses = 0
    while True:
        if stored is None or stored.state(plan.now_ms()) is Status.EXPIRED:
            now_ms = plan.now_ms()
            record = plan.new_record(now_ms)
            found = yield from _try_claim(plan, record, now_ms)
            if found is _CLAIMED:
                return record, None
            if found is None or found.state(now_ms) is Status.EXPIRED:
                misses += 1  # released or expired between the write and the read
                if misses >= MAX_CLAIMS:
                    raise plan.in_progress(found)
                stored = None
                continue
            stored = found
        plan.check_payload(stored)
        if stored.state(plan.now_ms()) is Status.COMPLETED:
            return None, stored
        if plan.on_in_progress != "wait" or plan.monotonic() >= deadline:
            raise plan.in_progress(stored)
        yield Pause(min(pause, max(0.0, deadline - plan.monotonic())))
        pause = min(pause * 2, 1.0)
        stored = yield plan.get()


class _Claimed:
    pass


_CLAIMED: Any = _Claimed()


def _try_claim(plan: Plan, record: IdempotencyRecord, now_ms: int
               ) -> Generator[Step, Any, Any]:
    """:data:`_CLAIMED`, or the record that stood in the way (``None``: none is left)."""
    condition = plan.claim_condition(now_ms)
    try:
        yield Call(lambda db: db.put(record, condition=condition))
    except ForeignItemError:
        raise
    except ConditionalCheckFailedError as exc:
        if exc.item is not None:
            return plan.decode(exc.item)
        return (yield plan.get())  # a transport that does not return the item (DAX)
    except OutcomeUnknownError:
        # Resent after an ambiguous failure and then refused: the record's token tells
        # whether the first attempt claimed it.
        stored = yield plan.get()
        if stored is not None and stored.token == record.token:
            return _CLAIMED
        return stored
    return _CLAIMED


def _release(plan: Plan, record: IdempotencyRecord) -> Generator[Step, Any, None]:
    """Delete this claim's record so that a retry runs the body (the body raised)."""
    condition = F.token == record.token
    try:
        yield Call(lambda db: db.delete(record, condition=condition))
    except ConditionalCheckFailedError:
        pass  # another call took over the expired claim: its record stays
    except DyntableError as exc:
        log.warning("%s: the idempotency record of key %s was not released after the "
                    "function raised (%s); retries get IdempotencyInProgressError until its "
                    "in-progress expiry", plan.scope, plan.digest[:12], exc)


def _complete(plan: Plan, record: IdempotencyRecord, result: Any
              ) -> Generator[Step, Any, None]:
    """Store ``result`` in this claim's record (COMPLETED, expiring ``expires_after``
    seconds from now)."""
    try:
        text = plan.serializer.dumps(result)
    except Exception as exc:
        raise IdempotencyResultError(
            f"{plan.scope}: the function ran but its result cannot be stored: {exc}",
            result=result, scope=plan.scope, key_hash=plan.digest) from exc
    expiration = plan.now_ms() // 1000 + plan.expires_after
    condition = F.token == record.token
    changes = {"status": Status.COMPLETED.value, "data": text,
               "in_progress_expiration": None, plan.model.ttl_name: expiration}
    try:
        done = yield Call(lambda db: db.update(record).set(**changes).condition(condition)
                          .execute())
    except ConditionalCheckFailedError:
        log.info("%s: key %s was taken over after this call's claim expired; its result "
                 "is returned but not stored", plan.scope, plan.digest[:12])
        return
    except DyntableError as exc:
        raise IdempotencyResultError(
            f"{plan.scope}: the function ran but storing its result failed: {exc}",
            result=result, scope=plan.scope, key_hash=plan.digest) from exc
    if plan.cache is not None:
        plan.cache.put(plan.cache_key, done)


def drive(flow: IdempotentFlow, db: Any, body: Callable[[], Any]) -> Any:
    """Run ``flow`` with the sync client ``db``; ``body`` is the user's function.

    An exception (``Exception``) of a step is thrown into the flow; anything else
    (KeyboardInterrupt, SystemExit) ends the call, leaving the record as it is.
    """
    outcome: Any = None
    error: Exception | None = None
    with closing(flow):
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(outcome)
            except StopIteration as stop:
                return stop.value
            outcome = error = None
            try:
                if type(step) is Call:
                    outcome = step.fn(db)
                elif type(step) is Pause:
                    time.sleep(step.seconds)
                else:
                    outcome = body()
            except Exception as exc:
                error = exc


async def drive_async(flow: IdempotentFlow, db: Any,
                      body: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``flow`` with the asyncio client ``db``; ``body`` returns the coroutine of the
    user's function. A cancelled task leaves the record as it is (like a crash)."""
    import asyncio

    outcome: Any = None
    error: Exception | None = None
    with closing(flow):
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(outcome)
            except StopIteration as stop:
                return stop.value
            outcome = error = None
            try:
                if type(step) is Call:
                    outcome = step.fn(db)
                    if inspect.isawaitable(outcome):
                        outcome = await outcome
                elif type(step) is Pause:
                    await asyncio.sleep(step.seconds)
                else:
                    outcome = await body()
            except Exception as exc:
                error = exc
