"""botocore's ``standard`` retry mode for :class:`~dyntable.transport.http.HttpTransport`.

Follows ``botocore/retries/standard.py`` (botocore 1.44): throttling codes, 429,
500/502/503/504, transient codes, connection errors and timeouts, and a bad
``x-amz-crc32`` are retried with full-jitter exponential backoff (base 1 s when
throttled, 25 ms otherwise, capped at 20 s, raised to ``x-amz-retry-after`` within 5 s),
under a per-transport retry quota (500 tokens; a retry costs 5 when throttled, 14
otherwise; a success refunds the last cost, or 1 without retries).
"""

from __future__ import annotations

import threading

from dyntable._internal.transport.jsonproto import MODELED_ERRORS

__all__ = [
    "NO_RETRY_INCREMENT",
    "THROTTLED",
    "TRANSIENT",
    "RetryQuota",
    "backoff",
    "classify",
    "retry_cost",
]

_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
_TRANSIENT_CODES = frozenset(
    {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"}
)
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
#: Modeled as retryable (not throttling) in the service model.
_MODELED_TRANSIENT = frozenset({"ReplicatedWriteConflictException"})

#: Retry kinds (0: not retryable).
THROTTLED = 1
TRANSIENT = 2
_THROTTLING_BASE = 1.0
_TRANSIENT_BASE = 0.025  # DynamoDB's non-throttling base scale
_MAX_BACKOFF = 20.0
_RETRY_AFTER_EXTRA = 5.0
_QUOTA_CAPACITY = 500
_RETRY_COST = 14
_THROTTLING_RETRY_COST = 5
#: Tokens a success without retries gives back to the quota.
NO_RETRY_INCREMENT = 1


def classify(status: int, code: str) -> int:
    """:data:`THROTTLED`, :data:`TRANSIENT` or 0 (not retryable) for an error answer.

    A 429 whose code the service model declares is left to that code's own rule.
    """
    if code in _THROTTLING_CODES or (status == 429 and code not in MODELED_ERRORS):
        return THROTTLED
    if code in _TRANSIENT_CODES or status in _TRANSIENT_STATUS or code in _MODELED_TRANSIENT:
        return TRANSIENT
    return 0


def retry_cost(kind: int) -> int:
    """Quota tokens a retry of this kind costs."""
    return _THROTTLING_RETRY_COST if kind == THROTTLED else _RETRY_COST


class RetryQuota:
    """botocore's retry quota: a token bucket shared by every call of one transport."""

    def __init__(self, capacity: int = _QUOTA_CAPACITY) -> None:
        self.capacity = capacity
        self.available = capacity
        self._lock = threading.Lock()

    def acquire(self, amount: int) -> bool:
        """Take ``amount`` tokens; False (nothing taken) when fewer are left."""
        with self._lock:
            if amount > self.available:
                return False
            self.available -= amount
            return True

    def release(self, amount: int) -> None:
        """Give back ``amount`` tokens (never above the capacity)."""
        if self.available == self.capacity:
            return
        with self._lock:
            self.available = min(self.capacity, self.available + amount)


def _retry_after(headers: dict[str, str]) -> float | None:
    raw = headers.get("x-amz-retry-after")
    if raw is None:
        return None
    try:
        value = int(raw) / 1000.0
    except (ValueError, OverflowError):
        return None
    return value if value >= 0 else None


def backoff(attempt: int, kind: int, rand: float, headers: dict[str, str]) -> float:
    """Full-jitter delay after failed attempt ``attempt`` (1-based)."""
    base = _THROTTLING_BASE if kind == THROTTLED else _TRANSIENT_BASE
    delay = rand * min(base * 2.0 ** (attempt - 1), _MAX_BACKOFF)
    after = _retry_after(headers)
    if after is not None:
        delay = max(delay, min(after, delay + _RETRY_AFTER_EXTRA))
    return delay
