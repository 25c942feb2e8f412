"""What a migration run did: counts, samples, failures (for the CLI's final report)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dyntable._internal.codec.values import from_av

__all__ = ["MigrationReport"]


@dataclass
class MigrationReport:
    """The outcome of one run of one migration (or of a dry run).

    Counts: ``scanned`` items read, ``changed`` items written (would be, in a dry run),
    ``unchanged`` items the function left, ``already`` items migrated before (by an earlier,
    interrupted run or another worker), ``failed`` items not written (see ``errors``),
    ``retried`` conditional-write conflicts re-read and retried, ``vanished`` items deleted
    meanwhile.
    """

    migration: str
    direction: str
    dry_run: bool = False
    total_segments: int = 0
    segments: list[int] = field(default_factory=list)
    scanned: int = 0
    changed: int = 0
    unchanged: int = 0
    already: int = 0
    failed: int = 0
    retried: int = 0
    vanished: int = 0
    held: dict[int, str] = field(default_factory=dict)
    complete: bool = False
    already_complete: bool = False
    mark_writes: bool = True
    samples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, counts: Mapping[str, int]) -> None:
        """Add counter deltas (thread-safe)."""
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def sample(self, key: Mapping[str, Any], changes: Mapping[str, tuple[Any, Any]],
               limit: int) -> None:
        """Keep up to ``limit`` example changes."""
        with self._lock:
            if len(self.samples) < limit:
                plain = {k: from_av(v) for k, v in key.items()}
                self.samples.append({"key": plain, "changes": dict(changes)})

    def error(self, message: str, limit: int = 20) -> None:
        """Record a failed item (the first ``limit`` messages are kept)."""
        with self._lock:
            if len(self.errors) < limit:
                self.errors.append(message)

    def summary(self) -> str:
        """A few lines for humans."""
        verb = "would change" if self.dry_run else "changed"
        head = f"{self.migration} {self.direction}"
        if self.already_complete:
            return f"{head}: already {'applied' if self.direction == 'up' else 'reverted'}"
        lines = [
            f"{head}{' (dry run, nothing written)' if self.dry_run else ''}: "
            f"scanned {self.scanned}, {verb} {self.changed}, unchanged {self.unchanged}, "
            f"already migrated {self.already}, failed {self.failed}, conflicts retried "
            f"{self.retried}, deleted meanwhile {self.vanished}"
        ]
        for s in self.samples:
            diff = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in s["changes"].items())
            lines.append(f"  e.g. {s['key']}: {diff}")
        lines += [f"  failed: {e}" for e in self.errors]
        if self.held:
            lines.append("  segments held by other workers: " + ", ".join(
                f"{seg} ({why})" for seg, why in sorted(self.held.items())))
        if not self.dry_run:
            lines.append(f"  {self.stream_note()}")
            if not self.complete:
                lines.append("  not complete: run the same command again to resume")
        return "\n".join(lines)

    def stream_note(self) -> str:
        """What stream consumers see of this run."""
        if self.changed == 0:
            return "no item was written, so no stream record was emitted"
        tag = self.migration if self.direction == "up" else f"{self.migration}:down"
        how = f" marked with _migration={tag!r}" if self.mark_writes else ""
        return f"each of the {self.changed} written items emitted one MODIFY stream record{how}"
