"""Unique values under faults: several writers claim and move values through a proxy that
throttles, answers 500 before and after applying, and drops connections.

Whatever each writer is told (acknowledged, taken, conflict, unknown), the table must end
consistent: one item at most per value, exactly one guard item per value held, owned by
its holder, no guard left for a value nobody holds, and every acknowledged claim or move
is what the table holds. ``DYNTABLE_FAULT_RATE`` / ``DYNTABLE_FAULT_SEED`` set the faults.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import pytest

from dyntable import Key, Model, Table, Unique
from dyntable.client import Client
from dyntable.errors import DyntableError, OutcomeUnknownError, UniqueValueError
from dyntable.testing.fault_proxy import FaultProxy
from dyntable.testing.faults import fault_rate, fault_seed
from dyntable.transport.http import HttpTransport
from tests.async_facade import async_http, connect

pytestmark = [pytest.mark.integration, pytest.mark.slow]

handles = Table("unique_faults")


class Member(Model, table=handles, entity="member"):
    username: str
    email: Annotated[str, Unique]
    primary = Key(pk="MEMBER#{username}", sk="MEMBER")


THREADS = 6
ROUNDS = 8
RATE = fault_rate(0.4)
KINDS = ("throttle", "http500", "http500_after", "reset")


@pytest.fixture
def direct(dynamodb_endpoint: str) -> Iterator[Client]:
    db = handles.connect(transport=HttpTransport(endpoint_url=dynamodb_endpoint,
                                                 region="us-east-1"),
                         table_name=f"unique-faults-{uuid.uuid4().hex[:10]}")
    db.create_table()
    yield db
    db.delete_table(wait=False)
    db.close()


class Told:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.claimed: dict[int, str] = {}      # round -> username acknowledged
        self.moved: set[int] = set()           # rounds whose winner moved its value
        self.unknown: set[tuple[int, str]] = set()
        self.errors: list[BaseException] = []


def _attempt(call: Any) -> str:
    """Run ``call`` until it is acknowledged, refused or unknown."""
    while True:
        try:
            call()
            return "acked"
        except UniqueValueError:
            return "taken"
        except OutcomeUnknownError:
            return "unknown"
        except DyntableError as exc:
            if not exc.retryable:
                raise


def _writer(db: Client, thread: int, told: Told, barrier: threading.Barrier) -> None:
    try:
        for r in range(ROUNDS):
            barrier.wait(60)
            name = f"u{thread}r{r}"
            claim = Member(username=name, email=f"shared{r}@x")
            outcome = _attempt(lambda: db.put(claim))  # noqa: B023 - called at once
            with told.lock:
                if outcome == "acked":
                    assert r not in told.claimed, f"round {r} acknowledged twice"
                    told.claimed[r] = name
                elif outcome == "unknown":
                    told.unknown.add((r, name))
            barrier.wait(60)  # every claim of this round settled before a value is moved
            if outcome == "acked" and thread % 2 == 0:
                move = db.update(Member, username=name).set(email=f"moved{r}@x")
                moved = _attempt(move.execute)
                with told.lock:
                    if moved == "acked":
                        told.moved.add(r)
                    elif moved == "unknown":
                        told.unknown.add((r, name))
    except BaseException as exc:  # reported by the test
        with told.lock:
            told.errors.append(exc)


@pytest.mark.parametrize("kind", ["http", "async"])
def test_claims_and_moves_under_faults_leave_one_owner_and_its_guard(
        direct: Client, dynamodb_endpoint: str, kind: str) -> None:
    told = Told()
    barrier = threading.Barrier(THREADS)
    with FaultProxy(dynamodb_endpoint, rate=RATE, seed=fault_seed(), kinds=KINDS) as proxy:
        transport: Any = (async_http(proxy.endpoint_url, max_attempts=8) if kind == "async"
                          else HttpTransport(endpoint_url=proxy.endpoint_url,
                                             region="us-east-1", max_attempts=8))
        db = connect(handles, transport, direct.table_name)
        threads = [threading.Thread(target=_writer, args=(db, t, told, barrier))
                   for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        db.close()
        print(f"\n{kind}: {proxy.summary()}; claimed={len(told.claimed)} "
              f"moved={len(told.moved)} unknown={len(told.unknown)}")
    assert not told.errors, told.errors
    items = direct.send("Scan", {"TableName": direct.table_name, "ConsistentRead": True})
    members: dict[str, str] = {}      # email -> username
    guards: dict[str, str] = {}       # value -> owner's PK
    for item in items["Items"]:
        pk = item["PK"]["S"]
        if pk.startswith("_dyntable#unique#member#email#"):
            guards[pk.rsplit("#", 1)[1]] = item["owner"]["M"]["PK"]["S"]
        else:
            email = item["email"]["S"]
            assert email not in members, f"{email} held by two items"
            members[email] = item["username"]["S"]
    # exactly one guard per value held, owned by its holder; none for values nobody holds
    assert guards == {email: f"MEMBER#{name}" for email, name in members.items()}
    for r, name in told.claimed.items():
        value = f"moved{r}@x" if r in told.moved else f"shared{r}@x"
        assert members.get(value) == name, f"round {r}: acknowledged {name} holds {value}"
    assert told.claimed, "no claim was acknowledged: the faults hid everything"
    if RATE:
        assert proxy.injected["http500_after"], proxy.summary()
