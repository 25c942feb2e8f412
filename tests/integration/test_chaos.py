"""Random concurrent workloads through a fault-injecting proxy, checked against a reference.

Several threads run seeded random sequences of operations against DynamoDB Local through a
:class:`~dyntable.testing.fault_proxy.FaultProxy` (throttles, 500s before and after
applying, dropped connections, partial batches):

- versioned read-modify-write increments of a few shared counters (``update(obj).add``,
  ``update(obj).set``, a put of a modified copy), each adding its own id to a set;
- transactions that increment a counter and put a note under a fresh key, atomically;
- puts, conditional puts, set-only updates and deletes of notes that only one thread
  touches, single or in batch writers.

Every answer is recorded: acknowledged, failed (not applied) or unknown
(:class:`~dyntable.errors.OutcomeUnknownError`, or a batch item reported not confirmed).
The final table must agree with a reference model: nothing acknowledged is lost, nothing
reported failed is applied, no increment is counted twice, and transactions are atomic.
Each thread's private notes must end in one of the states its sequence of answers allows.

``DYNTABLE_CHAOS_OPS`` (operations per thread, default 40), ``DYNTABLE_FAULT_RATE``
(default 0.3) and ``DYNTABLE_FAULT_SEED`` scale it; run it longer on demand, e.g.
``DYNTABLE_CHAOS_OPS=400 DYNTABLE_FAULT_SEED=7 pytest tests/integration/test_chaos.py``.
"""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

import pytest

from dyntable import Key, Model, Table, Version
from dyntable.client import Client
from dyntable.errors import (
    BatchWriteError,
    DyntableError,
    ItemExistsError,
    ItemNotFoundError,
    OutcomeUnknownError,
    TransactionCanceledError,
    VersionConflictError,
)
from dyntable.testing.fault_proxy import FaultProxy
from dyntable.testing.faults import fault_rate, fault_seed
from dyntable.transport.base import Transport
from dyntable.transport.boto3 import Boto3Transport, RetryConfig
from dyntable.transport.http import HttpTransport
from tests.async_facade import async_http, connect

pytestmark = [pytest.mark.integration, pytest.mark.slow]

chaos = Table("chaos")


class Counter(Model, table=chaos, entity="counter"):
    name: str
    n: int = 0
    seen: set[str] = set()
    version: Annotated[int, Version] = 0

    primary = Key(pk="COUNTER#{name}", sk="COUNTER")


class Note(Model, table=chaos, entity="note"):
    key: str
    body: str

    primary = Key(pk="NOTE#{key}", sk="NOTE")


THREADS = 4
OPS = int(os.environ.get("DYNTABLE_CHAOS_OPS", "40"))
RATE = fault_rate(0.3)
COUNTERS = ("c0", "c1", "c2")
NOTES_PER_THREAD = 4

#: a note's possible states: its body, or None when absent
States = set[str | None]


def _transport(kind: str, url: str) -> Transport:
    if kind == "async":
        transport: Transport = async_http(url, max_attempts=8)
        return transport
    if kind == "http":
        return HttpTransport(endpoint_url=url, region="us-east-1", max_attempts=8)
    return Boto3Transport(endpoint_url=url, region="us-east-1",
                          retry=RetryConfig(max_attempts=8))


@pytest.fixture
def direct(dynamodb_endpoint: str) -> Iterator[Client]:
    db = chaos.connect(transport=HttpTransport(endpoint_url=dynamodb_endpoint,
                                               region="us-east-1"),
                       table_name=f"chaos-{uuid.uuid4().hex[:10]}")
    db.create_table()
    yield db
    db.delete_table(wait=False)
    db.close()


@dataclass
class Ledger:
    """What the writers were told (shared, locked)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: set[str] = field(default_factory=set)     # increment / transaction ids
    failed: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)
    tx_counter: dict[str, str] = field(default_factory=dict)  # tx id -> counter name
    notes: dict[str, States] = field(default_factory=dict)    # note key -> possible states
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)

    def tell(self, group: str, id_: str) -> None:
        with self.lock:
            getattr(self, group).add(id_)

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1


def _read_counter(db: Client, name: str) -> Counter:
    while True:
        try:
            current = db.get(Counter, name=name, consistent=True)
        except DyntableError as exc:  # reads are safe to retry
            if not exc.retryable:
                raise
            continue
        assert current is not None
        return current


def _increment(db: Client, rng: random.Random, id_: str, ledger: Ledger) -> None:
    name = rng.choice(COUNTERS)
    style = rng.randrange(3)
    while True:
        current = _read_counter(db, name)
        try:
            if style == 0:
                db.update(current).add(n=1, seen={id_}).execute()
            elif style == 1:
                db.update(current).set(n=current.n + 1, seen=current.seen | {id_}).execute()
            else:
                db.put(current.model_copy(update={"n": current.n + 1,
                                                  "seen": current.seen | {id_}}))
        except VersionConflictError:
            ledger.count("conflicts")
            continue
        except OutcomeUnknownError:
            ledger.tell("unknown", id_)
            return
        except DyntableError as exc:
            if not exc.retryable:
                raise
            ledger.count("retryable errors")
            continue
        ledger.tell("acked", id_)
        return


def _transaction(db: Client, rng: random.Random, id_: str, ledger: Ledger) -> None:
    name = rng.choice(COUNTERS)
    with ledger.lock:
        ledger.tx_counter[id_] = name
    current = _read_counter(db, name)
    try:
        with db.transaction(max_retries=6) as tx:
            tx.update(current).add(n=1, seen={id_})
            tx.put(Note(key=f"tx-{id_}", body=id_), if_absent=True)
    except OutcomeUnknownError:
        ledger.tell("unknown", id_)
    except (TransactionCanceledError, DyntableError) as exc:
        if getattr(exc, "maybe_applied", False):
            raise AssertionError(f"a transaction error that may have applied: {exc!r}") from exc
        ledger.tell("failed", id_)
    else:
        ledger.tell("acked", id_)


def _apply(states: States, outcome: str, new: States) -> States:
    """The states after an operation answered ``outcome`` that leads from each state to
    the matching ones in ``new`` (``new`` computed per state by the caller)."""
    if outcome == "acked":
        return new
    if outcome == "failed":
        return states
    return states | new


def _note_op(db: Client, rng: random.Random, thread: int, ledger: Ledger) -> None:
    key = f"n{thread}-{rng.randrange(NOTES_PER_THREAD)}"
    body = uuid.uuid4().hex[:8]
    kind = rng.choice(["put", "put_if_absent", "update", "delete"])
    with ledger.lock:
        states = ledger.notes.setdefault(key, {None})
    outcome = "acked"
    try:
        if kind == "put":
            db.put(Note(key=key, body=body))
        elif kind == "put_if_absent":
            db.put(Note(key=key, body=body), if_absent=True)
        elif kind == "update":
            db.update(Note, key=key).set(body=body).execute()
        else:
            db.delete(Note, key=key)
    except OutcomeUnknownError:
        outcome = "unknown"
    except (ItemExistsError, ItemNotFoundError):
        outcome = "failed"
    except DyntableError as exc:
        if not exc.retryable:
            raise
        outcome = "failed"
    if kind == "put":
        new: States = {body}
    elif kind == "put_if_absent":
        new = {body if s is None else s for s in states}
    elif kind == "update":
        new = {None if s is None else body for s in states}
    else:
        new = {None}
    if outcome == "failed" and kind == "put_if_absent":
        assert any(s is not None for s in states), f"{key}: exists reported, none possible"
    with ledger.lock:
        ledger.notes[key] = _apply(states, outcome, new)
        ledger.counts[f"note {kind} {outcome}"] = ledger.counts.get(
            f"note {kind} {outcome}", 0) + 1


def _note_batch(db: Client, rng: random.Random, thread: int, ledger: Ledger) -> None:
    keys = rng.sample(range(NOTES_PER_THREAD), k=rng.randint(2, NOTES_PER_THREAD))
    planned: dict[str, str | None] = {}
    failed: set[str] = set()
    try:
        with db.batch_writer(deadline=5.0) as bw:
            for k in keys:
                key = f"n{thread}-{k}"
                if rng.random() < 0.7:
                    planned[key] = uuid.uuid4().hex[:8]
                    bw.put(Note(key=key, body=planned[key]))  # type: ignore[arg-type]
                else:
                    planned[key] = None
                    bw.delete(Note, key=key)
    except BatchWriteError as exc:
        # not confirmed written: may or may not have been applied
        failed = {a.key["PK"]["S"].removeprefix("NOTE#") for a in exc.unprocessed}
        ledger.count("batch items not confirmed")
    with ledger.lock:
        for key, value in planned.items():
            states = ledger.notes.setdefault(key, {None})
            ledger.notes[key] = _apply(states, "unknown" if key in failed else "acked",
                                       {value})


def _worker(db: Client, thread: int, seed: int, ledger: Ledger) -> None:
    rng = random.Random(seed * 1000 + thread)
    try:
        for i in range(OPS):
            id_ = f"t{thread}o{i}"
            roll = rng.random()
            if roll < 0.35:
                _increment(db, rng, id_, ledger)
            elif roll < 0.5:
                _transaction(db, rng, id_, ledger)
            elif roll < 0.85:
                _note_op(db, rng, thread, ledger)
            else:
                _note_batch(db, rng, thread, ledger)
    except BaseException as exc:  # reported by the test
        with ledger.lock:
            ledger.errors.append(exc)


@pytest.mark.parametrize("kind", ["http", "boto3", "async"])
def test_random_concurrent_workload_matches_the_reference(
    direct: Client, dynamodb_endpoint: str, kind: str
) -> None:
    for name in COUNTERS:
        direct.put(Counter(name=name))
    ledger = Ledger()
    seed = fault_seed()
    with FaultProxy(dynamodb_endpoint, rate=RATE, seed=seed) as proxy:
        db = connect(chaos, _transport(kind, proxy.endpoint_url), direct.table_name)
        threads = [threading.Thread(target=_worker, args=(db, t, seed, ledger))
                   for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        db.close()
        print(f"\n{kind}: {proxy.summary()}\n  acked={len(ledger.acked)} "
              f"failed={len(ledger.failed)} unknown={len(ledger.unknown)} {ledger.counts}")
    assert not ledger.errors, ledger.errors

    counters = {name: direct.get(Counter, name=name, consistent=True) for name in COUNTERS}
    applied: set[str] = set()
    for name, counter in counters.items():
        assert counter is not None
        assert counter.n == len(counter.seen), f"{name}: an increment counted twice"
        applied |= counter.seen
    assert ledger.acked <= applied, f"acknowledged but lost: {ledger.acked - applied}"
    assert not applied & ledger.failed, f"reported failed, applied: {applied & ledger.failed}"
    assert applied <= ledger.acked | ledger.unknown

    notes = {n.key: n.body for n in direct.scan(Note)}
    for id_, name in ledger.tx_counter.items():
        in_counter = id_ in counters[name].seen  # type: ignore[union-attr]
        assert (f"tx-{id_}" in notes) == in_counter, f"transaction {id_} not atomic"
    for key, states in ledger.notes.items():
        assert notes.get(key) in states, (key, notes.get(key), states)
    stray = {k for k in notes if not k.startswith("tx-")} - set(ledger.notes)
    assert not stray, stray
    if RATE:
        assert all(proxy.injected[k] for k in ("throttle", "http500", "http500_after",
                                               "reset")), proxy.summary()
