"""Pause the cyclic garbage collector while a large answer is parsed and decoded.

Parsing a 1 MB page and building a thousand model objects allocates tens of thousands of
containers, none of them garbage; each allocation counts towards the collector's
thresholds, so the collector runs dozens of times over objects that all survive (and,
in a process with a large heap, walks the whole heap in its oldest generation).

Reference counting still frees everything that is not in a cycle, and the pause lasts
one page. It is process-wide (the collector is), so pauses from several threads nest: the
collector is enabled again when the last one ends, and only when it was enabled before
the first began (a program that disabled it keeps it disabled).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["LARGE_BODY", "gc_paused"]

#: Bodies at least this long (bytes) are parsed with the collector paused.
LARGE_BODY = 64 * 1024

_lock = threading.Lock()
_depth = 0
_enable_after = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector paused (see the module doc)."""
    global _depth, _enable_after
    with _lock:
        if _depth == 0:
            _enable_after = gc.isenabled()
            if _enable_after:
                gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _enable_after:
                gc.enable()
