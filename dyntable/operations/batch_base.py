"""What batch writes and batch gets share: key digests, counters and the resend loop."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from dyntable.codec.values import b_value
from dyntable.errors import DecodeError, DyntableError
from dyntable.operations.retry import Backoff, Deadline, Flow, Send
from dyntable.ttl import item_expired

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import Table

__all__ = [
    "BatchClient",
    "BatchStats",
    "is_expired",
    "key_digest",
    "resend_until_done",
    "table_key_attrs",
    "unprocessed_entries",
]

T = TypeVar("T")


class BatchClient(Protocol):
    """What batches need from the client."""

    table: Table
    table_name: str
    hide_expired: bool

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one request."""
        ...


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


def table_key_attrs(table: Table) -> tuple[str, ...]:
    """The table's primary key attribute names (partition key first)."""
    return (table.pk, table.sk) if table.sk else (table.pk,)


def is_expired(client: BatchClient, obj: Model) -> bool:
    """True when ``client`` hides expired items and ``obj``'s TTL has passed."""
    return client.hide_expired and item_expired(obj)


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


def resend_until_done(
    operation: str,
    pending: list[T],
    request: Callable[[list[T]], dict[str, Any]],
    unprocessed: Callable[[dict[str, Any]], list[T]],
    *,
    deadline: float,
    backoff: Backoff,
    stats: BatchStats,
) -> Flow[tuple[list[T], DyntableError | None]]:
    """Send ``pending`` and re-send what comes back unprocessed, until done or ``deadline``.

    Retryable errors re-send the whole remaining chunk (batch actions are idempotent).

    Args:
        operation: ``BatchWriteItem`` or ``BatchGetItem``.
        pending: the entries of one chunk.
        request: the request parameters for the entries still pending.
        unprocessed: the entries a response left unprocessed.
        deadline: seconds from the first request after which retries stop.
        backoff: the wait between retries.
        stats: counters to update.

    Returns:
        ``(entries left, None)`` (``[]`` when all went through), or
        ``(entries left, error)`` after a non-retryable error.
    """
    clock = Deadline(deadline)
    attempt = 0
    while pending:
        stats.add(requests=1)
        try:
            response = yield Send(operation, request(pending))
        except DyntableError as exc:
            if not exc.retryable:
                return pending, exc
            left, counter = pending, "error_retries"
        else:
            left = unprocessed(response)
            counter = "unprocessed_retries"
            stats.add(items=len(pending) - len(left), unprocessed_items=len(left))
        if not left or clock.expired:
            return left, None
        stats.add(**{counter: 1})
        yield clock.wait(backoff.delay(attempt))
        attempt += 1
        pending = left
    return [], None
