"""The idempotency record: one item per (scope, key), declared as a dyntable model on the
table the records live in (the application's own table, or a dedicated one).

Layout (``prefix`` defaults to ``IDEMPOTENCY``)::

    pk  = "{prefix}#{scope}#{digest}"     one partition per key: no hot partition
    sk  = "{prefix}"                      when the table has a sort key
    status                  INPROGRESS | COMPLETED (expired is computed from the times)
    <table's TTL attribute> epoch seconds: the record is void after it, and DynamoDB's
                            TTL deletes it (in progress: the full window too)
    in_progress_expiration  epoch milliseconds: an INPROGRESS record is void after it
    payload_hash            hash of the payload (absent when validation is off)
    data                    the serialized result (COMPLETED)
    token                   random per claim: completion and release only touch the
                            record of their own claim
"""

from __future__ import annotations

import types
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from dyntable.errors import DeclarationError
from dyntable.schema.keys import Key
from dyntable.schema.model import Model
from dyntable.schema.table import TableSchema

if TYPE_CHECKING:
    from dyntable.schema.keys import ModelKey

__all__ = ["IdempotencyRecord", "Status", "record_model"]


class Status(str, Enum):
    """The state of a record. ``EXPIRED`` is never stored: a record is expired when its
    TTL time has passed, or when it is in progress past its in-progress expiry."""

    IN_PROGRESS = "INPROGRESS"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"


class IdempotencyRecord(Model):
    """Base of the record models (one per table and entity, made by :func:`record_model`).

    The expiry (the table's TTL attribute, epoch seconds) is read with :attr:`expiry`.
    """

    scope: str
    digest: str
    status: str
    token: str
    in_progress_expiration: int | None = None
    payload_hash: str | None = None
    data: str | None = None

    ttl_name: ClassVar[str] = ""
    prefix: ClassVar[str] = ""
    if TYPE_CHECKING:
        #: declared on each record model by :func:`record_model`
        primary: ClassVar[ModelKey[Any]]

    @property
    def expiry(self) -> int:
        """Epoch seconds after which the record is void (the table's TTL attribute)."""
        value: int = getattr(self, self.ttl_name)
        return value

    def state(self, now_ms: int) -> Status:
        """COMPLETED, IN_PROGRESS or EXPIRED at ``now_ms`` (epoch milliseconds)."""
        if self.expiry < now_ms // 1000:
            return Status.EXPIRED
        if self.status == Status.COMPLETED.value:
            return Status.COMPLETED
        until = self.in_progress_expiration
        if until is not None and until < now_ms:
            return Status.EXPIRED
        return Status.IN_PROGRESS


#: names the TTL attribute may not take: the record's fields and attributes
_FIELDS = frozenset(IdempotencyRecord.model_fields) | {"expiry", "state", "ttl_name",
                                                       "prefix", "primary"}


def record_model(table: TableSchema, *, entity: str = "idempotency",
                 prefix: str = "IDEMPOTENCY") -> type[IdempotencyRecord]:
    """The record model of ``table`` under ``entity`` (declared on first use, then reused).

    Raises:
        DeclarationError: the table declares no TTL attribute, its TTL attribute is named
            like a record field, ``entity`` is taken by another model, or ``prefix`` is
            not plain text.
    """
    existing = table.model_for(entity)
    if existing is not None:
        if not (isinstance(existing, type) and issubclass(existing, IdempotencyRecord)):
            raise DeclarationError(
                f"entity {entity!r} on table {table.name!r} is {existing.__qualname__}, not "
                "an idempotency record; give Idempotency(entity=...) another name")
        if existing.prefix != prefix:
            raise DeclarationError(
                f"idempotency records of entity {entity!r} on table {table.name!r} use key "
                f"prefix {existing.prefix!r}, not {prefix!r}; use one prefix per entity")
        return existing
    if not isinstance(prefix, str) or not prefix or not prefix.replace("_", "").replace(
            "-", "").isalnum():
        raise DeclarationError(
            f"idempotency key prefix must be letters, digits, '-' or '_', not {prefix!r}")
    ttl = table.ttl
    if ttl is None:
        raise DeclarationError(
            f"table {table.name!r} declares no TTL attribute: idempotency records expire by "
            "it (and DynamoDB deletes them by it); declare Table(..., ttl=\"expires_at\") "
            "and enable TTL, or use a dedicated table from idempotency_table()")
    if ttl in _FIELDS:
        raise DeclarationError(
            f"table {table.name!r}'s TTL attribute {ttl!r} is named like a field of the "
            f"idempotency record ({sorted(_FIELDS)}); use a dedicated table")
    key = Key(pk=f"{prefix}#{{scope}}#{{digest}}", sk=prefix if table.sk else None)

    def body(ns: dict[str, Any]) -> None:
        ns["__module__"] = __name__
        ns["__qualname__"] = f"IdempotencyRecord_{table.name}_{entity}"
        ns["__annotations__"] = {ttl: int}
        ns["__doc__"] = f"Idempotency records on table {table.name!r} (entity {entity!r})."
        ns["primary"] = key
        ns["ttl_name"] = ttl
        ns["prefix"] = prefix

    name = f"IdempotencyRecord_{entity}"
    model: type[IdempotencyRecord] = types.new_class(
        name, (IdempotencyRecord,), {"table": table, "entity": entity}, body)
    return model
