"""Optimistic locking under contention: threads doing read-modify-write never lose updates."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest

from dyntable.client import Client
from dyntable.errors import VersionConflictError
from tests.models import Customer, Product

pytestmark = pytest.mark.integration
THREADS = 4
INCREMENTS = 10


def hammer(db: Client, bump: Callable[[Product], None]) -> int:
    """Run THREADS x INCREMENTS read-modify-write increments; return the conflicts seen."""
    conflicts = [0]
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(INCREMENTS):
                while True:
                    p = db.get(Product, sku="counter", consistent=True)
                    assert p is not None
                    try:
                        bump(p)
                        break
                    except VersionConflictError:
                        with lock:
                            conflicts[0] += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return conflicts[0]


@pytest.mark.parametrize("how", ["update", "put"])
def test_concurrent_increments_are_exact(db: Client, how: str) -> None:
    db.put(Product(sku="counter", title="C", price=Decimal(0)))

    def by_update(p: Product) -> None:
        db.update(p).set(stock=p.stock + 1).execute()

    def by_put(p: Product) -> None:
        db.put(p.model_copy(update={"stock": p.stock + 1}))

    conflicts = hammer(db, by_update if how == "update" else by_put)
    final = db.get(Product, sku="counter", consistent=True)
    assert final is not None
    assert final.stock == THREADS * INCREMENTS
    assert final.version == 1 + THREADS * INCREMENTS
    print(f"{how}: {conflicts} version conflicts retried")


def test_stale_writes_are_refused(db: Client) -> None:
    ada = Customer(username="ada", email="a@x.io", name="Ada")
    db.put(ada)
    stale = ada.model_copy()
    db.update(ada).set(name="Ada L.").execute()
    with pytest.raises(VersionConflictError) as info:
        db.put(stale.model_copy(update={"name": "lost"}))
    assert info.value.expected == 1
    with pytest.raises(VersionConflictError):
        db.delete(stale)
    with pytest.raises(VersionConflictError):
        db.update(stale).set(name="lost").execute()
    again = Customer(username="ada", email="a@x.io", name="Dup")
    with pytest.raises(VersionConflictError):
        db.put(again)  # version 0 means "new item"
    stored = db.get(Customer, username="ada")
    assert stored is not None and stored.name == "Ada L." and stored.version == 2
