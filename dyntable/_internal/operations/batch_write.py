"""Batch writes that lose nothing: the chunk flow and the writer's books (no I/O).

Every item handed to a writer is either written or listed in the
:class:`~dyntable.errors.BatchWriteError` raised when the writer stops or closes; a key
is written at most once per writer (see :mod:`dyntable._internal.operations.batch`).

The retries live in the I/O-free :func:`write_flow`; :class:`WriterBook` keeps the books
(the actions not yet confirmed, the first failure). The clients' batch writers
(:class:`dyntable.batch_writer.BatchWriter` with threads,
:class:`dyntable.async_batch_writer.AsyncBatchWriter` with tasks) only send chunks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dyntable._internal.codec.items import codec_for
from dyntable._internal.operations.batch_base import (
    BatchStats,
    check_deadline,
    key_digest,
    resend_until_done,
    table_key_attrs,
    unprocessed_entries,
)
from dyntable._internal.operations.flow import Flow
from dyntable._internal.operations.items import is_model, receipts_for_put, require_table
from dyntable._internal.operations.retry import Backoff
from dyntable._internal.operations.stamps import apply as apply_stamps
from dyntable._internal.operations.stamps import put_stamps, stamped
from dyntable._internal.operations.targets import resolve
from dyntable._internal.schema.receipts import RECEIPTS_ATTRIBUTE, Receipts, new_token, remember
from dyntable.errors import BatchWriteError, InvalidRequestError

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["WRITE_CHUNK", "ChunkResult", "WriteAction", "WriterBook", "write_flow"]

AV = dict[str, Any]
WRITE_CHUNK = 25


@dataclass(frozen=True, eq=False)
class WriteAction:
    """One put or delete handed to a writer.

    Attributes:
        kind: ``"put"`` or ``"delete"``.
        model: the model class.
        target: the object (put, delete of an instance) or the key fields (delete by key).
        key: the primary key (wire form).
        request: the ``PutRequest`` / ``DeleteRequest`` entry sent.
        new_version: the version written (set on the object once written).
        receipts: the write receipts the put stores (versioned models).
        stamps: the timestamp fields the put stores (models with CreatedAt/UpdatedAt).
    """

    kind: Literal["put", "delete"]
    model: type[Model]
    target: Any
    key: dict[str, AV]
    request: dict[str, Any]
    digest: bytes = field(repr=False)
    new_version: int | None = None
    receipts: Receipts | None = field(default=None, repr=False)
    #: timestamp fields the put stores (given to the object once written)
    stamps: dict[str, Any] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.model.__name__} key={self.key}>"


def _no_unique(model: type[Model]) -> None:
    """BatchWriteItem has no conditions or transactions: Unique guards cannot be kept."""
    names = model.__dyntable__.unique_fields
    if names:
        raise InvalidRequestError(
            f"{model.__name__} has Unique field(s) {list(names)}, kept with conditional "
            "transactions that a batch writer cannot send: use db.put / db.delete or a "
            "transaction")


@dataclass
class ChunkResult:
    """What a chunk flow ends with.

    Attributes:
        unwritten: the actions not confirmed written.
        error: what stopped the chunk (not retryable, or not dyntable's); when
            ``expired``, the last retryable error, if any.
        expired: the chunk ran out of time with actions left.
    """

    unwritten: list[WriteAction]
    error: Exception | None = None
    expired: bool = False


def write_flow(
    table_name: str,
    key_attrs: Sequence[str],
    actions: Sequence[WriteAction],
    *,
    deadline: float,
    backoff: Backoff,
    stats: BatchStats,
    stop: Callable[[], bool] | None = None,
    on_written: Callable[[list[WriteAction]], None] | None = None,
) -> Flow[ChunkResult]:
    """Write one chunk (at most 25 actions), retrying what is unprocessed until ``deadline``.

    Retryable errors re-send the whole remaining chunk (puts and deletes are idempotent).
    Nothing is sent ``deadline`` seconds after the chunk's first request, nor once
    ``stop()`` is true. Any other error (not retryable, not dyntable's, a malformed
    answer) ends the flow with the actions of that attempt unwritten.
    ``on_written`` receives the actions each answer confirmed, as answers arrive, so
    what is written stays known even if the flow is abandoned midway.
    """
    if len(actions) > WRITE_CHUNK:
        raise InvalidRequestError(f"a BatchWriteItem takes at most {WRITE_CHUNK} items")
    by_digest = {a.digest: a for a in actions}

    def request(pending: list[WriteAction]) -> dict[str, Any]:
        return {"RequestItems": {table_name: [a.request for a in pending]}}

    def unprocessed(response: dict[str, Any]) -> list[WriteAction]:
        raw = (response.get("UnprocessedItems") or {}).get(table_name) or []
        return unprocessed_entries(raw, key_attrs, by_digest, "BatchWriteItem")

    end = yield from resend_until_done(
        "BatchWriteItem", list(actions), request, unprocessed,
        deadline=deadline, backoff=backoff, stats=stats, stop=stop, done=on_written,
    )
    return ChunkResult(end.left, end.error, end.expired)


class WriterBook:
    """The books of one batch writer (no I/O, thread-safe): the actions handed over and not
    yet confirmed, in order, the chunk being filled, the keys seen, and the first failure.

    The sync and async batch writers share it; each sends the chunks it hands out with
    :meth:`chunk_flow` in its own way (threads, tasks).
    """

    def __init__(self, table: TableSchema, table_name: str, *, deadline: float,
                 backoff: Backoff) -> None:
        check_deadline(deadline)
        self.table = table
        self.table_name = table_name
        self.deadline = deadline
        self.backoff = backoff
        self.stats = BatchStats()
        self.key_attrs = table_key_attrs(table)
        self._chunk: list[WriteAction] = []
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()
        #: every action handed over and not yet confirmed, in the order given
        self._unwritten: dict[WriteAction, None] = {}
        self._stopped = threading.Event()
        self.cause: BaseException | None = None
        self.expired = False
        self.closed = False

    # -- actions -----------------------------------------------------------------------

    def put_action(self, obj: Model) -> WriteAction:
        """The action of a put of ``obj`` (version bumped, receipts stored when versioned)."""
        if not is_model(obj):
            raise InvalidRequestError(f"put() takes a model instance, not {type(obj).__name__}")
        require_table(type(obj), self.table)
        codec = codec_for(type(obj))
        _no_unique(codec.model)
        stamps = put_stamps(codec, obj)
        item = codec.encode(stamped(obj, stamps))
        vname = codec.spec.version_field
        new_version = None
        receipts = None
        if vname is not None:
            expected = int(getattr(obj, vname) or 0)
            new_version = expected + 1
            item[vname] = {"N": str(new_version)}
            receipts = receipts_for_put(obj, expected, new_token())
            item[RECEIPTS_ATTRIBUTE] = receipts.to_av()
        key = {a: item[a] for a in codec.spec.primary.attrs}
        return WriteAction("put", type(obj), obj, key, {"PutRequest": {"Item": item}},
                           key_digest(key), new_version, receipts, stamps or None)

    def delete_action(self, target: Any, key: Mapping[str, Any]) -> WriteAction:
        """The action of a delete by instance, key, or model and key fields (no version
        check: BatchWriteItem has no conditions)."""
        item = resolve(target, key, self.table, what="delete()")
        _no_unique(item.model)
        what: Any = dict(key) if isinstance(target, type) else target
        return WriteAction("delete", item.model, what, item.key,
                           {"DeleteRequest": {"Key": item.key}}, key_digest(item.key))

    def accept(self, action: WriteAction) -> list[WriteAction] | None:
        """Take ``action``; return a full chunk (25 actions) to send, if one is ready.

        Raises:
            InvalidRequestError: the writer is closed, or the key was already given.
        """
        if self.closed:
            raise InvalidRequestError(
                "this batch writer is closed (it reports unwritten items once, in the "
                "BatchWriteError raised when it closed or stopped); use a new writer"
            )
        if not self._stopped.is_set():
            if action.digest in self._seen:
                raise InvalidRequestError(
                    f"{action.model.__name__} key {action.key} is already in this batch "
                    "writer; a writer writes each key once (combine the changes into one put)"
                )
            self._seen.add(action.digest)
        with self._lock:
            self._unwritten[action] = None
        self._chunk.append(action)
        if len(self._chunk) >= WRITE_CHUNK:
            return self.take()
        return None

    def take(self) -> list[WriteAction]:
        """The partly filled chunk (emptied)."""
        chunk, self._chunk = self._chunk, []
        return chunk

    # -- sending -----------------------------------------------------------------------

    def chunk_flow(self, chunk: list[WriteAction]) -> Flow[None]:
        """Send one chunk to its end; a failure or running out of time stops the writer."""
        if self._stopped.is_set():
            return
        result = yield from write_flow(
            self.table_name, self.key_attrs, chunk, deadline=self.deadline,
            backoff=self.backoff, stats=self.stats, stop=self._stopped.is_set,
            on_written=self.written)
        if result.error is not None or result.expired:
            self.stop(result.error, expired=result.expired)

    def written(self, actions: list[WriteAction]) -> None:
        """Actions an answer confirmed: no longer unwritten; objects get their version."""
        with self._lock:
            for a in actions:
                del self._unwritten[a]
                if a.stamps is not None and a.target is not None:
                    apply_stamps(a.target, a.stamps)
                if a.new_version is not None:
                    vname = a.model.__dyntable__.version_field
                    a.target.__dict__[vname] = a.new_version
                    remember(a.target, a.new_version, a.receipts)

    @property
    def stopped(self) -> bool:
        """True once the writer stopped (nothing more is sent)."""
        return self._stopped.is_set()

    def wait_stopped(self, seconds: float) -> None:
        """Sleep up to ``seconds``; return at once when the writer stops (sync writers)."""
        self._stopped.wait(seconds)

    def stop(self, cause: BaseException | None, *, expired: bool = False) -> bool:
        """Stop the writer; the first call says why. True for the call that stopped it."""
        with self._lock:
            if self._stopped.is_set():
                return False
            self.cause, self.expired = cause, expired
            self._stopped.set()
        return True

    @property
    def unwritten(self) -> list[WriteAction]:
        """The actions not confirmed written so far, in the order given."""
        with self._lock:
            return list(self._unwritten)

    def error(self) -> BatchWriteError:
        """The BatchWriteError describing the items not confirmed written so far."""
        with self._lock:
            unwritten = list(self._unwritten)
            cause, expired = self.cause, self.expired
        if expired:
            why = f"a chunk was still unwritten after retrying for {self.deadline}s"
            if cause is not None:
                why += f", last error {type(cause).__name__}: {cause}"
            fix = "; nothing more was sent. Retry them later, or raise deadline="
        elif cause is not None:
            why = f"stopped by {type(cause).__name__}: {cause}"
            fix = "; nothing more was sent (the cause is chained)"
        else:
            why, fix = "not sent or not confirmed yet", ""
        sample = ", ".join(repr(a) for a in unwritten[:3])
        more = f" and {len(unwritten) - 3} more" if len(unwritten) > 3 else ""
        err = BatchWriteError(
            f"batch write to {self.table_name}: {len(unwritten)} item(s) not written "
            f"({why}){fix}: {sample}{more}",
            unprocessed=unwritten,
            table=self.table_name,
        )
        if cause is not None:  # (setting None would hide the context of the raise)
            err.__cause__ = cause
        return err
