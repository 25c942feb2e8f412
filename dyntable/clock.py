"""The clock behind automatic timestamps (``CreatedAt`` / ``UpdatedAt`` fields).

dyntable asks :func:`now` for the time of each write. Tests fix it with :func:`use_clock`::

    with use_clock(datetime(2026, 1, 1, tzinfo=timezone.utc)):
        db.put(order)            # order.created_at == 2026-01-01

The setting is process-wide (every thread and task sees it) and restored when the block
ends; tools that patch ``datetime.now`` (freezegun) work as well.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from dyntable.errors import InvalidValueError

__all__ = ["now", "use_clock"]

_lock = threading.Lock()
_clock: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current time, timezone-aware (UTC unless a clock set with use_clock says)."""
    clock = _clock
    value = clock() if clock is not None else datetime.now(timezone.utc)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValueError(f"the clock gave a naive datetime {value!r}; give it a tzinfo")
    return value


@contextmanager
def use_clock(clock: datetime | Callable[[], datetime]) -> Iterator[None]:
    """Within the block, timestamps come from ``clock`` (a fixed aware datetime, or a
    function returning one)."""
    global _clock
    fn = (lambda: clock) if isinstance(clock, datetime) else clock
    with _lock:
        before = _clock
        _clock = fn
    try:
        yield
    finally:
        with _lock:
            _clock = before
