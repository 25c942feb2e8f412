"""Hooks for logging and metrics: callables that receive every call's ``CallEvent``.

Add one to any transport (``transport.add_hook(hook)`` or ``hooks=[...]``)::

    metrics = OperationMetrics()
    transport = Boto3Transport(hooks=[logging_hook(log), metrics])
    metrics.snapshot()["GetItem"].mean_seconds
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dyntable.transport.base import CallEvent, Hook

__all__ = ["OperationMetrics", "OperationStats", "logging_hook"]


def _capacity_text(consumed: Any) -> str:
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    parts = []
    for entry in entries:
        if isinstance(entry, Mapping):
            parts.append(f"{entry.get('TableName', '?')}={entry.get('CapacityUnits', 0)}")
    return ",".join(parts) or "-"


def logging_hook(logger: logging.Logger, level: int = logging.INFO) -> Hook:
    """A hook that logs one line per call: operation, table, duration, attempts, capacity.

    Only those facts (and the error class and cache outcome) are logged: never
    credentials, keys or item values.
    """

    def hook(event: CallEvent) -> None:
        if not logger.isEnabledFor(level):
            return
        cache = event.extra.get("cache")
        logger.log(
            level,
            "dynamodb %s table=%s transport=%s duration_ms=%.2f attempts=%d capacity=%s%s%s",
            event.operation,
            event.table or "-",
            event.transport or "-",
            event.duration * 1000.0,
            event.attempts,
            _capacity_text(event.consumed_capacity),
            f" cache={cache}" if isinstance(cache, str) else "",
            f" error={event.error}" if event.error else "",
        )

    return hook


@dataclass
class OperationStats:
    """Per-operation figures gathered by :class:`OperationMetrics`."""

    calls: int = 0
    errors: int = 0
    retries: int = 0
    total_seconds: float = 0.0
    max_seconds: float = 0.0

    @property
    def mean_seconds(self) -> float:
        """Mean latency (0.0 before any call)."""
        return self.total_seconds / self.calls if self.calls else 0.0


class OperationMetrics:
    """A metrics hook: calls, errors, retries and latency per operation (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[str, OperationStats] = {}

    def __call__(self, event: CallEvent) -> None:
        with self._lock:
            stats = self._stats.setdefault(event.operation, OperationStats())
            stats.calls += 1
            stats.errors += event.error is not None
            stats.retries += event.retries
            stats.total_seconds += event.duration
            stats.max_seconds = max(stats.max_seconds, event.duration)

    def snapshot(self) -> dict[str, OperationStats]:
        """A copy of the figures, by operation."""
        with self._lock:
            return {op: OperationStats(**vars(s)) for op, s in self._stats.items()}
