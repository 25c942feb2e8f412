"""The one send path: every request dyntable makes goes through :func:`send`.

:func:`send` is a flow (:mod:`dyntable._internal.operations.flow`): it yields the request to the
driver, attaches the table and key to errors, turns a failed condition into the error that
says why (:func:`condition_error`), and settles ambiguous writes.

Ambiguous writes: a write may have been applied although its call failed (a 5xx sent after
DynamoDB applied it, a timeout or dropped connection after sending; the transport marks
such errors ``maybe_applied``). Throttling and other 4xx answers are never applied.

* A versioned write (put, update or delete checking the version) is resent: its version
  condition lets at most one attempt apply, and its receipt token (stored in the item,
  :mod:`dyntable._internal.schema.receipts`) tells whether one did. When a resend fails its
  condition, :func:`settle` looks for the token in the stored item returned with the
  failure. The transport does not resend it itself: after an attempt that may have
  applied, :func:`send` reads the item at once (a receipt found settles it before other
  writers can push the receipt out), then resends it, a few times at most, before calling
  the outcome unknown.
* A write without a version is resent only when resending cannot apply it twice (a put, a
  delete, an update that only sets or removes); its answer is then the answer. Otherwise
  (an update that adds, appends or computes, or a conditional write whose resend failed its
  condition) dyntable cannot tell, and raises
  :class:`~dyntable.errors.OutcomeUnknownError` with the key.

Nothing here compares the stored item with what the write would have produced: another
writer's identical write produces the same item.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from dyntable._internal.codec.items import entity_of
from dyntable._internal.operations.flow import Flow, Request, Sleep
from dyntable._internal.schema.receipts import SLOTS, Receipts
from dyntable.errors import (
    ConditionalCheckFailedError,
    DyntableError,
    ForeignItemError,
    ItemExistsError,
    ItemNotFoundError,
    OutcomeUnknownError,
    ServiceError,
    ServiceValidationError,
    TransportError,
    VersionConflictError,
)

__all__ = ["SETTLE_RESENDS", "Outcome", "condition_error", "send", "settle"]

AV = dict[str, Any]


class Outcome(enum.Enum):
    """What :func:`settle` concluded about a write whose call was ambiguous."""

    APPLIED = "applied"
    NOT_APPLIED = "not applied"
    UNKNOWN = "unknown"


def _version(item: Mapping[str, Any], name: str | None) -> int:
    av = item.get(name) if name else None
    raw = av.get("N") if isinstance(av, Mapping) else None
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


def _version_field(req: Request) -> str | None:
    spec = getattr(req.model, "__dyntable__", None)
    return spec.version_field if spec is not None else None


def settle(req: Request, stored: Mapping[str, Any] | None) -> Outcome:
    """Was the versioned write ``req`` applied, given the item as stored after it failed?

    Decided only by the write's receipt token and the version, never by comparing the
    stored item with the write's result. Assumes the key is not deleted and re-created by
    others within the seconds the write is being retried (see docs/guarantees.md).
    """
    if req.kind == "delete":
        # A deleted item keeps no receipt: absence cannot tell this delete from another.
        return Outcome.UNKNOWN if stored is None else Outcome.NOT_APPLIED
    if stored is None or req.new_version is None or req.token is None:
        return Outcome.UNKNOWN
    new_version = req.new_version
    receipts = Receipts.read(stored)
    if receipts is not None and receipts.token_of(new_version) == req.token:
        return Outcome.APPLIED
    stored_version = _version(stored, _version_field(req))
    if stored_version < new_version:
        return Outcome.NOT_APPLIED  # this write would have left at least new_version
    if receipts is None or new_version < receipts.floor:
        return Outcome.UNKNOWN  # replaced by a writer that did not keep receipts
    if stored_version - new_version >= SLOTS:
        return Outcome.UNKNOWN  # this version's slot has been reused since
    return Outcome.NOT_APPLIED  # another write produced new_version


def _where(req: Request) -> str:
    name = req.model.__name__ if req.model is not None else "item"
    return f"{name} {_key_text(req.key)}"


def _key_text(key: Mapping[str, Any]) -> str:
    parts = []
    for name, av in key.items():
        value = next(iter(av.values())) if isinstance(av, Mapping) and av else av
        parts.append(f"{name}={value!r}")
    return "(" + ", ".join(parts) + ")"


def condition_error(req: Request, exc: ConditionalCheckFailedError, table: str
                    ) -> ConditionalCheckFailedError:
    """The typed error for a write whose condition failed (the write was not applied)."""
    stored = exc.item
    common: dict[str, Any] = {
        "code": exc.code, "operation": exc.operation or req.operation, "table": table,
        "key": req.key, "status": exc.status, "response": exc.response,
    }
    spec = getattr(req.model, "__dyntable__", None)
    where = _where(req)
    if stored is None and not exc.item_returned:
        if req.version_checked:  # the stored item is unknown: say what was expected
            return VersionConflictError(
                f"version conflict on {where}: expected version {req.expected_version} "
                "(the stored item was not returned)", expected=req.expected_version,
                **common)
        return exc.with_context(table=table, key=req.key)  # type: ignore[return-value]
    if stored is not None and req.guarded and spec is not None:
        stored_entity = entity_of(stored, spec.table.entity_attribute)
        if stored_entity is not None and stored_entity != spec.entity:
            return ForeignItemError(
                f"{where} holds an item of entity {stored_entity!r}, not {spec.entity!r}; "
                "dyntable does not overwrite or delete another entity's item (check the key "
                "templates of both models)", entity=stored_entity, **common)
    if req.version_checked and req.expected_version is not None:
        expected = req.expected_version
        if stored is None and (expected > 0 or req.kind != "put"):
            return ItemNotFoundError(
                f"{where} does not exist (expected version {expected}); it was deleted, or "
                "never written: create it with db.put(...)", **common)
        if stored is not None:
            actual = _version(stored, spec.version_field if spec else None)
            if expected == 0 and req.kind == "put":
                return ItemExistsError(
                    f"{where} already exists (stored version {actual}); a new object "
                    "(version 0) does not replace it: read it with db.get(...) and update "
                    "that, or delete it first", expected=0, actual=actual, **common)
            if actual != expected:
                return VersionConflictError(
                    f"version conflict on {where}: expected version {expected}, stored "
                    f"version {actual} (another writer changed it; read it again and retry)",
                    expected=expected, actual=actual, **common)
    if req.needs_item and stored is None:
        return ItemNotFoundError(
            f"{where} does not exist: an update changes an existing item and never creates "
            "one; create it with db.put(...) first", **common)
    if req.if_absent and stored is not None:
        return ItemExistsError(f"{where} already exists (if_absent=True)", expected=0,
                               actual=None, **common)
    return exc.with_context(table=table, key=req.key)  # type: ignore[return-value]


def unknown_error(req: Request, exc: DyntableError, table: str) -> OutcomeUnknownError:
    """The error for a write whose outcome could not be settled."""
    err = OutcomeUnknownError(
        f"{req.operation} on {table}: the outcome of the write to {_where(req)} is unknown "
        f"({type(exc).__name__}: {exc}); it may or may not have been applied. Read the item "
        "before writing it again.",
        operation=req.operation, table=table, key=req.key,
        model=req.model.__name__ if req.model is not None else None,
    )
    err.__cause__ = exc
    return err


def _applied(req: Request, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The response of a write settled as applied: an update gets the item as stored now;
    a put's old item is gone (``return_old`` gives ``None``)."""
    return {"Attributes": stored} if req.kind == "update" else {}


def _missing_receipt_map(exc: ServiceValidationError) -> bool:
    return "document path" in exc.message.lower()


def _with_context(exc: DyntableError, req: Request, table: str) -> DyntableError:
    if isinstance(exc, ServiceError):
        return exc.with_context(table=table, key=req.key or None)
    return exc


#: Resends of a write after an attempt that may have been applied (each resend of a
#: versioned write is fenced by its condition and token, module doc).
SETTLE_RESENDS = 4
_SETTLE_BASE = 0.025  # seconds; full jitter, doubling (like the transports' 5xx backoff)

def send(req: Request, *, rand: Callable[[], float] = random.random) -> Flow[dict[str, Any]]:
    """Send ``req`` and read its answer: the flow every request goes through.

    Returns the response; for a write settled as applied after an ambiguous failure, a
    response holding the stored item as ``Attributes`` (updates). Raises the typed error
    otherwise, with the table and key attached. Yields the request itself and, between
    resends of an ambiguous write, :class:`~dyntable._internal.operations.flow.Sleep` steps.
    """
    table = str(req.params.get("TableName", ""))
    is_write = req.kind in ("put", "update", "delete")
    ambiguous = False  # some attempt of this write may have been applied
    resends = 0
    while True:
        try:
            response: dict[str, Any] = yield req
            return response
        except ServiceValidationError as exc:
            if req.receipts_fallback is not None and _missing_receipt_map(exc):
                req = replace(req, params=req.receipts_fallback, receipts_fallback=None)
                continue
            raise _with_context(exc, req, table) from None
        except ConditionalCheckFailedError as exc:
            if is_write and (ambiguous or exc.maybe_applied):
                outcome = settle(req, exc.item) if req.version_checked else Outcome.UNKNOWN
                if outcome is Outcome.APPLIED:
                    return _applied(req, exc.item)
                if outcome is Outcome.UNKNOWN:
                    raise unknown_error(req, exc, table) from None
            raise condition_error(req, exc, table) from None
        except (ServiceError, TransportError) as exc:
            if not (is_write and (ambiguous or exc.maybe_applied)):
                raise _with_context(exc, req, table) from None
            ambiguous = True
            failure: DyntableError = exc
        if not req.idempotent:
            raise unknown_error(req, failure, table) from None
        if req.version_checked and req.kind != "delete":
            settled = yield from _settle_by_reading(req, failure, table)
            if settled is not None:
                return settled
        if resends >= SETTLE_RESENDS:
            raise unknown_error(req, failure, table) from None
        # Resend: a versioned write's condition lets at most one attempt apply, and its
        # receipt tells whether one did; other idempotent writes can apply twice harmlessly.
        yield Sleep(rand() * _SETTLE_BASE * (2 ** resends))
        resends += 1


def _settle_by_reading(req: Request, failure: DyntableError, table: str
                       ) -> Flow[dict[str, Any] | None]:
    """Read the item at once after an ambiguous attempt of a versioned write: the
    response when it proves the write applied, ``None`` when only a resend can tell;
    raises when it proves a conflict, or that nothing can tell any more."""
    found, stored = yield from _read_receipt(req, table)
    outcome = _settle_read(req, stored) if found else None
    if outcome is Outcome.APPLIED:
        return _applied(req, stored)
    if outcome is Outcome.NOT_APPLIED:
        raise _conflict(req, stored, failure, table) from None
    if outcome is Outcome.UNKNOWN:
        raise unknown_error(req, failure, table) from None
    return None


def _read_receipt(req: Request, table: str) -> Flow[tuple[bool, dict[str, Any] | None]]:
    """``(read, item as stored now)`` by a consistent read; ``(False, None)`` when the
    read failed."""
    check = Request("GetItem", {"TableName": table, "Key": req.key, "ConsistentRead": True},
                    req.key, req.model, "get")
    try:
        response = yield check
    except DyntableError:
        return False, None
    item: dict[str, Any] | None = response.get("Item") or None
    return True, item


def _settle_read(req: Request, stored: dict[str, Any] | None) -> Outcome | None:
    """What a read after an ambiguous attempt of the versioned write ``req`` proves.

    ``None`` while the item is still at (or below) the expected version: an attempt may be
    in flight and apply later, so only a resend (fenced by the version condition) settles
    it. Once the version has moved on without this write's receipt, the write can never
    apply (its condition wants the old version): not applied, for good.
    """
    if stored is None or req.expected_version is None:
        return None
    outcome = settle(req, stored)
    if outcome is Outcome.APPLIED:
        return outcome
    if _version(stored, _version_field(req)) <= req.expected_version:
        return None
    return outcome


def _conflict(req: Request, stored: dict[str, Any] | None, failure: DyntableError,
              table: str) -> VersionConflictError:
    """The version conflict proven by reading ``stored`` after an ambiguous attempt."""
    actual = _version(stored or {}, _version_field(req))
    err = VersionConflictError(
        f"version conflict on {_where(req)}: expected version {req.expected_version}, stored "
        f"version {actual} (another writer changed it; read it again and retry)",
        expected=req.expected_version, actual=actual, code="ConditionalCheckFailedException",
        operation=req.operation, table=table, key=req.key,
        response={"Item": stored} if stored else None,
    )
    err.__cause__ = failure
    return err
