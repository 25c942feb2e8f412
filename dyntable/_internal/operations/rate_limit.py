"""Read-capacity budgets: pace a read by the capacity DynamoDB says it consumed.

A :class:`RateLimiter` holds a budget of read units per second. :func:`paced` wraps a flow
(a query's or scan's pages, a migration's scan, hydration's batched gets): each read it
sends asks for ``ReturnConsumedCapacity=TOTAL``, the units reported are charged to the
budget, and before the next read the flow yields a
:class:`~dyntable._internal.operations.flow.Sleep` long enough that the units consumed so
far fit the budget.

The budget works as a token bucket of size zero, refilled at ``read_units_per_second``:
a read is charged when its answer arrives (DynamoDB only tells the cost afterwards), from
the moment it was sent, and the next read waits until the bucket is out of debt. Time
spent idle (the caller working through a page) is not banked, so the units consumed in
any window stay within the budget plus one page. Reads answered without a
``ConsumedCapacity`` (a cache hit) cost nothing.

With ``adapt_page_size`` (the default), a Query or Scan page's ``Limit`` is capped so one
page costs about one second of budget, from the units per evaluated item seen so far (1
unit per item before the first answer); a smaller ``Limit`` the read asked for is kept.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from dyntable._internal.operations.flow import Flow, Request, Sleep
from dyntable.errors import InvalidRequestError

__all__ = ["PACED_OPERATIONS", "RateLimiter", "consumed_read_units", "paced"]

R = TypeVar("R")

#: Reads whose consumed capacity is charged to a budget.
PACED_OPERATIONS = frozenset({"Query", "Scan", "BatchGetItem", "GetItem", "ExecuteStatement"})
#: Reads whose page size (``Limit``) is adapted to the budget.
_SHAPED = frozenset({"Query", "Scan"})
#: Units per evaluated item assumed before any answer (an item up to 4 KB, consistent read).
_FIRST_GUESS = 1.0


def consumed_read_units(consumed: Any) -> float:
    """The read units of a response's ``ConsumedCapacity`` (a dict, a list of them, or
    ``None``): ``CapacityUnits``, else ``ReadCapacityUnits``."""
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    total = 0.0
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        units = entry.get("CapacityUnits")
        if units is None:
            units = entry.get("ReadCapacityUnits")
        total += float(units or 0.0)
    return total


class RateLimiter:
    """A read-capacity budget: read units per second, fed by the units DynamoDB reports.

    One limiter can be given to several reads (the segments of a parallel scan, threads or
    asyncio tasks): they then share its budget. It is thread-safe.

    Args:
        read_units_per_second: the budget (> 0).
        adapt_page_size: cap each Query / Scan page so it costs about one second of budget.
        clock: monotonic seconds (default :func:`time.monotonic`; tests inject their own).

    Attributes:
        consumed: read units charged so far.
        slept: seconds of pause asked for so far (summed over the reads sharing it).
        requests: reads sent through it.
    """

    def __init__(self, read_units_per_second: float, *, adapt_page_size: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        rate = read_units_per_second
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (
                0 < rate < math.inf):
            raise InvalidRequestError(
                f"read_units_per_second must be a positive number, not {rate!r}")
        self.read_units_per_second = float(rate)
        self.adapt_page_size = adapt_page_size
        self.clock = clock
        self.consumed = 0.0
        self.slept = 0.0
        self.requests = 0
        self._free_at = -math.inf
        self._scanned = 0
        self._scanned_units = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"RateLimiter({self.read_units_per_second:g} RCU/s, consumed="
                f"{self.consumed:g}, slept={self.slept:.3f}s)")

    def delay(self) -> float:
        """Seconds to wait before the next read (0 when the budget allows it now); the
        wait is added to :attr:`slept`."""
        with self._lock:
            wait = self._free_at - self.clock()
            if wait <= 0:
                return 0.0
            self.slept += wait
            return wait

    def page_limit(self) -> int | None:
        """The most items one Query / Scan page should evaluate, or ``None`` (no cap)."""
        if not self.adapt_page_size:
            return None
        with self._lock:
            per_item = (self._scanned_units / self._scanned) if self._scanned else _FIRST_GUESS
        if per_item <= 0:
            return None
        return max(1, math.floor(self.read_units_per_second / per_item))

    def shape(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` as the paced read sends them: asking for the consumed capacity, and
        with ``Limit`` capped by :meth:`page_limit` (a copy; ``params`` is kept)."""
        out = dict(params)
        out.setdefault("ReturnConsumedCapacity", "TOTAL")
        cap = self.page_limit() if operation in _SHAPED else None
        if cap is not None:
            given = out.get("Limit")
            out["Limit"] = cap if given is None else min(int(given), cap)
        return out

    def charge(self, units: float, sent_at: float, scanned: int | None = None) -> None:
        """Charge ``units`` to a read sent at ``sent_at`` (a :attr:`clock` reading);
        ``scanned`` items evaluated by it feed the page size estimate."""
        with self._lock:
            self.requests += 1
            self.consumed += units
            self._free_at = max(self._free_at, sent_at) + units / self.read_units_per_second
            if scanned:
                self._scanned += scanned
                self._scanned_units += units


def paced(flow: Flow[R], limiter: RateLimiter) -> Flow[R]:
    """Run ``flow`` with its reads paced by ``limiter`` (see the module doc); other steps
    pass through unchanged, and so does the flow's result."""
    try:
        step = next(flow)
        sent_at = 0.0
        while True:
            read = step if type(step) is Request and step.operation in PACED_OPERATIONS \
                else None
            if read is not None:
                wait = limiter.delay()
                if wait > 0:
                    yield Sleep(wait)
                step = read = replace(read, params=limiter.shape(read.operation, read.params))
                sent_at = limiter.clock()
            try:
                answer = yield step
            except Exception as exc:
                if read is not None:
                    limiter.charge(0.0, sent_at)
                step = flow.throw(exc)
                continue
            if read is not None:
                _charge(limiter, read, answer, sent_at)
            step = flow.send(answer)
    except StopIteration as stop:
        result: R = stop.value
        return result
    finally:
        flow.close()


def _charge(limiter: RateLimiter, request: Request, answer: Any, sent_at: float) -> None:
    """Charge what a read's answer says it consumed."""
    scanned = answer.get("ScannedCount") if request.operation in _SHAPED else None
    limiter.charge(consumed_read_units(answer.get("ConsumedCapacity")), sent_at,
                   int(scanned) if scanned is not None else None)
