"""TTL helpers: compute expiry times for a model's TTL field.

The TTL field is stored as epoch seconds. DynamoDB deletes expired items in the background,
typically within a few days of expiry (DynamoDB Local after about a minute); until then
they are still returned by reads, unless the client was made with ``hide_expired=True``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from dyntable.errors import InvalidValueError

__all__ = ["expires_at", "expires_in", "is_expired"]

_UTC = timezone.utc


def expires_in(
    *, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0
) -> datetime:
    """The aware UTC datetime that far from now, to whole seconds (as it is stored).

    Raises:
        InvalidValueError: when the total is not positive.
    """
    delta = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
    if delta.total_seconds() <= 0:
        raise InvalidValueError(
            f"expires_in needs a positive duration, got {delta}; use expires_at() for a "
            "moment in the past"
        )
    return (datetime.now(_UTC) + delta).replace(microsecond=0)


def expires_at(when: datetime | int | float) -> datetime:
    """An expiry moment as an aware UTC datetime, to whole seconds.

    Args:
        when: an aware datetime, or epoch seconds.

    Raises:
        InvalidValueError: for a naive datetime (its time zone would be a guess).
    """
    if isinstance(when, datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise InvalidValueError(
                f"naive datetime {when.isoformat()}: give a timezone-aware expiry time"
            )
        return when.astimezone(_UTC).replace(microsecond=0)
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        raise InvalidValueError(f"expires_at takes a datetime or epoch seconds, not {when!r}")
    return datetime.fromtimestamp(int(when), _UTC)


def is_expired(value: datetime | int | float | None, *, now: datetime | None = None) -> bool:
    """True when a TTL value has passed (``None``: never expires)."""
    if value is None:
        return False
    at = expires_at(value)
    return at <= (now or datetime.now(_UTC))


def item_expired(obj: Any) -> bool:
    """True when ``obj``'s model declares a TTL field whose value has passed.

    Used by reads with ``hide_expired=True``: DynamoDB deletes expired items only within
    days of their expiry (DynamoDB Local after about a minute).
    """
    spec = getattr(type(obj), "__dyntable__", None)
    ttl = spec.ttl_field if spec is not None else None
    return ttl is not None and is_expired(getattr(obj, ttl, None))
