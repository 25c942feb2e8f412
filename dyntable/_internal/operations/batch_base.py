"""What batch writes and batch gets share: key digests, counters and the resend loop."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from dyntable._internal.codec.values import b_value
from dyntable._internal.operations.flow import Flow, Request
from dyntable._internal.operations.retry import Backoff, Deadline
from dyntable._internal.operations.send import send
from dyntable.errors import DecodeError, DyntableError, InvalidRequestError

if TYPE_CHECKING:
    from dyntable.schema.table import TableSchema

__all__ = [
    "BatchStats",
    "Resent",
    "check_deadline",
    "key_digest",
    "resend_until_done",
    "table_key_attrs",
    "unprocessed_entries",
]

T = TypeVar("T")


def key_digest(key: Mapping[str, Any]) -> bytes:
    """A canonical 16-byte digest of a wire-form key (numbers normalised, binary decoded)."""
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(key):
        ((tag, value),) = key[name].items()
        if tag == "B":
            raw = b_value(value)
        elif tag == "N":
            raw = str(Decimal(value).normalize()).encode()
        else:
            raw = str(value).encode()
        for part in (name.encode(), tag.encode(), raw):
            h.update(len(part).to_bytes(4, "big"))
            h.update(part)
    return h.digest()


def table_key_attrs(table: TableSchema) -> tuple[str, ...]:
    """The table's primary key attribute names (partition key first)."""
    return (table.pk, table.sk) if table.sk else (table.pk,)


@dataclass
class BatchStats:
    """Counters of a batch (thread-safe): what was sent, retried and done.

    Attributes:
        requests: BatchWriteItem / BatchGetItem calls sent.
        items: items written (writer) or keys read (get), found or not.
        unprocessed_retries: requests re-sent because of UnprocessedItems / UnprocessedKeys.
        unprocessed_items: items or keys DynamoDB returned unprocessed (summed over calls).
        error_retries: requests re-sent after a retryable error (throttling, 5xx,
            connection), counted after the transport's own retries gave up.
    """

    requests: int = 0
    items: int = 0
    unprocessed_retries: int = 0
    unprocessed_items: int = 0
    error_retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        """Add to the named counters."""
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, int]:
        """The counters as a dict."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_lock"}


def unprocessed_entries(
    requests: Iterable[Mapping[str, Any]],
    key_attrs: Sequence[str],
    by_digest: Mapping[bytes, T],
    what: str,
) -> list[T]:
    """Map the unprocessed entries of a response back to what was requested.

    Raises:
        DecodeError: an entry whose key was not in the request.
    """
    out = []
    for req in requests:
        if "PutRequest" in req:
            item = req["PutRequest"]["Item"]
            key = {a: item[a] for a in key_attrs if a in item}
        elif "DeleteRequest" in req:
            key = req["DeleteRequest"]["Key"]
        else:
            key = dict(req)
        found = by_digest.get(key_digest(key))
        if found is None:
            raise DecodeError(f"{what} returned an unprocessed entry that was not sent: {key}")
        out.append(found)
    return out


@dataclass
class Resent(Generic[T]):
    """How :func:`resend_until_done` ended.

    Attributes:
        left: the entries not done (``[]`` when every one went through).
        error: the error that stopped the loop (not retryable, or not dyntable's); when
            ``expired``, the last retryable error, if the last attempt failed with one.
        expired: the deadline passed with entries left.
    """

    left: list[T]
    error: Exception | None = None
    expired: bool = False


def check_deadline(deadline: float) -> None:
    """Refuse a deadline that is not a number of seconds >= 0 (NaN included)."""
    if not deadline >= 0:
        raise InvalidRequestError(f"deadline must be a number of seconds >= 0, not {deadline!r}")


def resend_until_done(
    operation: str,
    pending: list[T],
    request: Callable[[list[T]], dict[str, Any]],
    unprocessed: Callable[[dict[str, Any]], list[T]],
    *,
    deadline: float,
    backoff: Backoff,
    stats: BatchStats,
    stop: Callable[[], bool] | None = None,
    done: Callable[[list[T]], None] | None = None,
) -> Flow[Resent[T]]:
    """Send ``pending`` and re-send what comes back unprocessed, until done or ``deadline``.

    Retryable errors re-send the whole remaining chunk (batch actions are idempotent). No
    request is sent once ``deadline`` seconds have passed since the first one, or once
    ``stop()`` is true. Any other exception thrown in by the driver, or raised while
    reading an answer (a malformed ``UnprocessedItems``), ends the loop: the entries of
    that attempt are then not confirmed. Only exceptions that do not derive from
    ``Exception`` (``KeyboardInterrupt``, ``GeneratorExit``, a cancellation) pass through.

    Args:
        operation: ``BatchWriteItem`` or ``BatchGetItem``.
        pending: the entries of one chunk.
        request: the request parameters for the entries still pending.
        unprocessed: the entries a response left unprocessed.
        deadline: seconds from the first request after which nothing more is sent.
        backoff: the wait between retries.
        stats: counters to update.
        stop: polled before each request; true ends the loop with the entries left.
        done: called with the entries each answer confirmed, as answers arrive.

    Returns:
        A :class:`Resent`: the entries left, and why.
    """
    clock: Deadline | None = None
    last: Exception | None = None
    retry: str | None = None
    attempt = 0
    while pending:
        if stop is not None and stop():
            return Resent(pending)
        if clock is None:
            clock = Deadline(deadline)
        elif clock.expired:
            return Resent(pending, last, expired=True)
        if retry is not None:
            stats.add(**{retry: 1})
        params = request(pending)
        stats.add(requests=1)
        try:
            response = yield from send(Request(operation, params))
            left = unprocessed(response)
        except DyntableError as exc:
            if not exc.retryable:
                return Resent(pending, exc)
            left, retry, last = pending, "error_retries", exc
        except Exception as exc:  # not dyntable's: a hook, a malformed answer
            return Resent(pending, exc)
        else:
            retry, last = "unprocessed_retries", None
            stats.add(items=len(pending) - len(left), unprocessed_items=len(left))
            if done is not None and len(left) < len(pending):
                kept = {id(e) for e in left}
                done([e for e in pending if id(e) not in kept])
        if not left:
            return Resent([])
        if clock.expired:
            return Resent(left, last, expired=True)
        yield clock.wait(backoff.delay(attempt))
        attempt += 1
        pending = left
    return Resent([])
