"""The side table of what dyntable remembers per decoded object (receipts, undeclared
attributes): entries go with their objects, also when one dies while the table is locked."""

from __future__ import annotations

import gc
import threading

from dyntable._internal.schema import remembered as side


class Thing:
    """Any object with weak references."""


def test_an_entry_goes_with_its_object() -> None:
    thing = Thing()
    side.remember(thing, version=3)
    held = side.remembered(thing)
    assert held is not None and held.version == 3
    key = id(thing)
    del thing
    gc.collect()
    assert key not in side._BY_ID


def test_an_object_dying_while_the_table_is_locked_does_not_deadlock() -> None:
    # What the cyclic GC does when an allocation made under the lock (in remember) collects
    # an object that has an entry: its weakref callback runs in the same thread, which still
    # holds the lock. A CI run hung there (the async client's update flow, under load).
    holder = [Thing()]
    side.remember(holder[0], version=1)
    key = id(holder[0])

    def die_under_the_lock() -> None:
        with side._lock:
            holder.pop()  # last reference: the callback runs here, synchronously

    worker = threading.Thread(target=die_under_the_lock, daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "deadlock: the weakref callback waited for the held lock"
    assert key not in side._BY_ID
