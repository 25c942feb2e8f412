"""Backoff and deadlines for the retry loops of flows (batches, transactions, waiters).

Flows themselves are described in :mod:`dyntable._internal.operations.flow`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dyntable._internal.operations.flow import Sleep

__all__ = ["Backoff", "Deadline"]


@dataclass
class Backoff:
    """Exponential backoff, full jitter: retry ``n`` waits ``uniform(0, min(cap, base * 2**n))``.

    Args:
        base: the first ceiling in seconds.
        cap: the largest ceiling in seconds.
        seed: seed of the jitter RNG (``None``: unpredictable).
    """

    base: float = 0.05
    cap: float = 5.0
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError("backoff needs 0 < base <= cap")
        self._rng = random.Random(self.seed)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        ceiling = min(self.cap, self.base * (2 ** min(attempt, 62)))
        with self._lock:
            return self._rng.uniform(0.0, ceiling)


class Deadline:
    """A point in monotonic time after which retries stop.

    Args:
        seconds: time allowed from now.
        clock: the clock (``time.monotonic`` by default; tests may pass their own).
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        if seconds < 0:
            raise ValueError("a deadline needs seconds >= 0")
        self.seconds = seconds
        self._clock = clock
        self._at = clock() + seconds

    def remaining(self) -> float:
        """Seconds left (0 when passed)."""
        return max(0.0, self._at - self._clock())

    @property
    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self._clock() >= self._at

    def wait(self, delay: float) -> Sleep:
        """A :class:`~dyntable._internal.operations.flow.Sleep` of ``delay`` seconds,
        shortened so it ends by the deadline."""
        return Sleep(min(delay, self.remaining()))
