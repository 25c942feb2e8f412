"""Telling an ambiguous failure from a conflict: did a retried write's first attempt apply?

A 500 (or a dropped connection) after DynamoDB applied a write makes the transport retry it;
a versioned retry then fails its condition against the write's own result. Comparing the
stored item returned with the failure (ReturnValuesOnConditionCheckFailure) with what the
write leaves (:attr:`Request.outcome`) tells the two apart. No I/O here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dyntable.codec.values import b_value
from dyntable.errors import ConditionalCheckFailedError
from dyntable.operations.items import Request

__all__ = ["applied_before_retry"]


def _normal(av: Any) -> Any:
    """An AttributeValue in a form where equal stored values compare equal (numbers as
    Decimals, binary as bytes, sets as frozensets)."""
    if not isinstance(av, dict) or len(av) != 1:
        return av
    (tag, v), = av.items()
    if tag == "N":
        return ("N", Decimal(v))
    if tag == "NS":
        return ("NS", frozenset(Decimal(x) for x in v))
    if tag == "B":
        return ("B", b_value(v))
    if tag == "BS":
        return ("BS", frozenset(b_value(x) for x in v))
    if tag == "SS":
        return ("SS", frozenset(v))
    if tag == "M":
        return ("M", {k: _normal(x) for k, x in v.items()})
    if tag == "L":
        return ("L", [_normal(x) for x in v])
    return (tag, v)


def _same_value(a: Any, b: Any) -> bool:
    return bool(_normal(a) == _normal(b))


def applied_before_retry(req: Request, exc: ConditionalCheckFailedError) -> bool:
    """True when a retried versioned write failed its condition only because its own first
    attempt had been applied: the stored item holds exactly this write's outcome."""
    meta = exc.response.get("ResponseMetadata") or {}
    if not int(meta.get("RetryAttempts") or 0):
        return False
    stored = exc.item
    if req.operation == "DeleteItem":
        return stored is None
    if stored is None or req.outcome is None:
        return False
    return all(
        (name not in stored) if value is None else _same_value(stored.get(name), value)
        for name, value in req.outcome.items()
    )
