"""Timing primitives shared by the benchmark sections: interleaved runs, medians, results.

Noise control: contenders run round-robin inside each repetition (the starting contender
rotates from one repetition to the next), so slow drift of the machine or of DynamoDB Local
hits every contender alike; figures are medians over all samples, and ratios are taken
between contenders of the same run.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "RAW",
    "Section",
    "Stat",
    "ainterleave_batches",
    "ainterleave_calls",
    "interleave_batches",
    "interleave_calls",
    "p95",
    "rotated",
]

#: The baseline every ratio is taken against.
RAW = "raw boto3"

Case = Callable[[], Any]
AsyncCase = Callable[[], Awaitable[Any]]


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def rotated(names: list[str], shift: int) -> list[str]:
    """``names`` starting at position ``shift`` (mod its length)."""
    k = shift % len(names)
    return names[k:] + names[:k]


def interleave_calls(
    cases: Mapping[str, Case], *, reps: int, calls: int, warmup: int = 5
) -> dict[str, list[float]]:
    """Time single calls: in each repetition, ``calls`` rounds of one call per contender.

    Returns every sample (seconds) per contender.
    """
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for rep in range(reps):
        gc.collect()
        for i in range(calls):
            for name in rotated(names, rep + i):
                case = cases[name]
                start = clock()
                case()
                samples[name].append(clock() - start)
    return samples


def interleave_batches(
    cases: Mapping[str, Case], *, reps: int, per_batch: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Time whole batches (one call of a case does ``per_batch`` units of work).

    Returns, per contender, one sample per repetition: seconds per unit.
    """
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for rep in range(reps):
        for name in rotated(names, rep):
            gc.collect()
            case = cases[name]
            start = clock()
            case()
            samples[name].append((clock() - start) / per_batch)
    return samples


async def ainterleave_calls(
    cases: Mapping[str, AsyncCase], *, reps: int, calls: int, warmup: int = 5
) -> dict[str, list[float]]:
    """:func:`interleave_calls` inside a running event loop: each case is awaited.

    A sync contender is given as a coroutine function that calls it (nothing else runs
    in the loop meanwhile, so it blocks no other contender).
    """
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            await cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for rep in range(reps):
        gc.collect()
        for i in range(calls):
            for name in rotated(names, rep + i):
                case = cases[name]
                start = clock()
                await case()
                samples[name].append(clock() - start)
    return samples


async def ainterleave_batches(
    cases: Mapping[str, AsyncCase], *, reps: int, per_batch: int, warmup: int = 1
) -> dict[str, list[float]]:
    """:func:`interleave_batches` inside a running event loop (seconds per unit)."""
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            await cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for rep in range(reps):
        for name in rotated(names, rep):
            gc.collect()
            case = cases[name]
            start = clock()
            await case()
            samples[name].append((clock() - start) / per_batch)
    return samples


@dataclass
class Stat:
    """One contender's figures in one section (values in the section's unit)."""

    name: str
    median: float
    p95: float | None = None
    samples: int = 0
    note: str = ""


@dataclass
class Section:
    """One measurement: a title, a unit, and every contender's figures."""

    key: str
    title: str
    unit: str
    higher_is_better: bool = False
    stats: list[Stat] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, stat: Stat) -> None:
        """Append a contender's figures."""
        self.stats.append(stat)

    def add_samples(self, name: str, values: list[float], scale: float, *, tail: bool) -> None:
        """Add a contender from raw samples, multiplied by ``scale`` into the section unit."""
        scaled = [v * scale for v in values]
        self.add(Stat(name, statistics.median(scaled), p95(scaled) if tail else None,
                      len(scaled)))

    def get(self, name: str) -> Stat | None:
        """The figures of contender ``name``, if measured."""
        return next((s for s in self.stats if s.name == name), None)

    def ratio(self, name: str, baseline: str = RAW) -> float | None:
        """Median of ``name`` over the median of ``baseline`` (``None`` if either is missing)."""
        stat, base = self.get(name), self.get(baseline)
        if stat is None or base is None or not base.median:
            return None
        return stat.median / base.median

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Section:
        """The inverse of :meth:`as_dict`."""
        return cls(data["key"], data["title"], data["unit"], data["higher_is_better"],
                   [Stat(**s) for s in data["stats"]], list(data["notes"]))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "key": self.key,
            "title": self.title,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "stats": [s.__dict__ for s in self.stats],
            "notes": self.notes,
        }
