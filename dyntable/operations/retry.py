"""Backoff, deadlines and the I/O-free flow protocol shared by batches and transactions.

Multi-request operations are written as *flows*: generators that yield a :class:`Send`
(one DynamoDB call) or a :class:`Wait` (a pause before retrying) and receive the response,
or have the call's error thrown into them. :func:`drive` runs a flow synchronously over a
``send`` callable; an async client can drive the same flows with ``await`` and
``asyncio.sleep``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["Backoff", "Deadline", "Flow", "Send", "Wait", "drive"]

R = TypeVar("R")


@dataclass(frozen=True)
class Send:
    """A flow step: send ``operation`` with ``params``; the response is sent back in."""

    operation: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Wait:
    """A flow step: pause ``seconds`` before the next step."""

    seconds: float


Step = Send | Wait
#: A multi-request flow returning ``R``.
Flow = Generator[Step, Any, R]


def drive(
    send: Callable[[str, dict[str, Any]], dict[str, Any]],
    flow: Flow[R],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> R:
    """Run ``flow`` to completion: send its requests, sleep its waits, return its result.

    Errors raised by ``send`` are thrown into the flow, which may handle them (retry) or
    let them propagate.
    """
    try:
        step = next(flow)
        while True:
            if isinstance(step, Wait):
                sleep(step.seconds)
                step = flow.send(None)
                continue
            try:
                response = send(step.operation, step.params)
            except Exception as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(response)
    except StopIteration as stop:
        result: R = stop.value
        return result


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

    def wait(self, delay: float) -> Wait:
        """A :class:`Wait` of ``delay`` seconds, shortened so it ends by the deadline."""
        return Wait(min(delay, self.remaining()))
