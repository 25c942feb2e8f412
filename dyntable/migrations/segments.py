"""Parallel-scan segments: parsing ranges such as ``0-15,32-47`` (no I/O)."""

from __future__ import annotations

from dyntable.migrations.errors import MigrationError

__all__ = ["MAX_SEGMENTS", "parse_segments"]

MAX_SEGMENTS = 1_000_000


def parse_segments(text: str | None, total: int) -> list[int]:
    """The segment numbers named by ``text`` (``None``: all of ``range(total)``).

    ``text`` is a comma-separated list of numbers and inclusive ranges, e.g. ``"0-15"``
    or ``"0-3,8,10-11"``; every number must be below ``total``.
    """
    if not isinstance(total, int) or not (1 <= total <= MAX_SEGMENTS):
        raise MigrationError(f"total segments must be 1 to {MAX_SEGMENTS}, not {total!r}")
    if text is None or not text.strip():
        return list(range(total))
    chosen: set[int] = set()
    for raw in text.split(","):
        part = raw.strip()
        low, sep, high = part.partition("-")
        try:
            first = int(low)
            last = int(high) if sep else first
        except ValueError:
            raise MigrationError(
                f"bad segment range {part!r}: use numbers and ranges like 0-15,20"
            ) from None
        if first > last or first < 0 or last >= total:
            raise MigrationError(
                f"segment range {part!r} is outside 0-{total - 1} (total segments {total})"
            )
        chosen.update(range(first, last + 1))
    return sorted(chosen)
