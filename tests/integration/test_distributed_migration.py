"""The Step Functions worker on DynamoDB Local: parallel workers, one killed and re-run.

The state machine is played by the test: the plan's items go to worker processes with the
inputs the Distributed Map gives them, one process is killed with SIGKILL mid-way and its
item invoked again (as the Task's retry would), with a Lambda context whose time runs out
so that it stops and is invoked again until it reports done. The migration adds 1 to a
counter, so an item migrated twice would show 2.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from dyntable._internal.codec.items import codec_for
from dyntable._internal.codec.values import from_av
from dyntable.client import Client
from dyntable.migrations import distributed
from dyntable.migrations.distributed import handler, map_items, plan, status
from dyntable.migrations.history import History
from tests.models import Customer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.one_transport,
    pytest.mark.sync_only("migrations run on the sync client (an operator tool)"),
]

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 3000
SLEEP = "DYNTABLE_TEST_MIGRATION_SLEEP"
MIGRATION = f'''"""Count every application: n goes 0 -> 1, a second application would make it 2."""

import os
import time

ENTITIES = ["customer"]


def up(item):
    time.sleep(float(os.environ.get("{SLEEP}", "0")))
    item["n"] = int(item.get("n") or 0) + 1
    return item
'''
WORKER = """
import json, sys
from dyntable.migrations.distributed import handler

class Context:
    def get_remaining_time_in_millis(self):
        return 900_000

print(json.dumps(handler(json.loads(sys.argv[1]), Context())))
"""


class Clock:
    """A Lambda context with ``seconds`` left when made."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.end - time.monotonic()) * 1000))


def _seed(db: Client, n: int) -> None:
    codec = codec_for(Customer)
    items = [codec.encode(Customer(username=f"u{i:05d}", email=f"u{i}@x.io", name="N"))
             for i in range(n)]

    def write(chunk: list[dict[str, Any]]) -> None:
        request = {db.table_name: [{"PutRequest": {"Item": it}} for it in chunk]}
        while request:
            request = db.send("BatchWriteItem", {"RequestItems": request}).get(
                "UnprocessedItems") or {}

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, [items[i:i + 25] for i in range(0, n, 25)]))


def _customers(db: Client) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"TableName": db.table_name, "ConsistentRead": True,
                              "FilterExpression": "#e = :c",
                              "ExpressionAttributeNames": {"#e": "_entity"},
                              "ExpressionAttributeValues": {":c": {"S": "customer"}}}
    out = []
    while True:
        resp = db.send("Scan", params)
        out += [{k: from_av(v) for k, v in item.items()} for item in resp["Items"]]
        if not resp.get("LastEvaluatedKey"):
            return out
        params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


@pytest.fixture
def lambda_env(dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment a deployed function would have (endpoint: DynamoDB Local)."""
    env = {"DYNTABLE_ENDPOINT_URL": dynamodb_endpoint, "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_REGION": "us-east-1"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv(SLEEP, raising=False)
    yield {**os.environ, **env}
    for client, _ in distributed._cache.values():
        client.close()
    distributed._cache.clear()


def _start(item: dict[str, Any], env: dict[str, str], sleep: float = 0) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(item)], cwd=ROOT,
                            env={**env, SLEEP: str(sleep)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_parallel_workers_one_killed_migrate_every_item_once(
        db: Client, tmp_path: Path, lambda_env: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(db, ITEMS)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_count.py").write_text(MIGRATION)
    out = plan({"migration": "0001_count", "app": "tests.models:shop",
                "migrations": str(tmp_path / "migrations"), "table_name": db.table_name,
                "total_segments": 8, "segments_per_worker": 2, "execution": "exec-1",
                "page_size": 20, "input": {}})
    assert (out["run"], out["complete"], out["items"]) == (1, False, ["0-1", "2-3", "4-5",
                                                                        "6-7"])
    items = map_items(out, "exec-1")

    # Four workers at once; the first is slow and gets killed after its first checkpoint.
    victim = _start(items[0], lambda_env, sleep=0.004)
    others = [_start(item, lambda_env) for item in items[1:]]
    history = History(db)
    state = history.state("0001_count")
    assert state is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        mine = [s for s in history.segments(state) if s.segment in (0, 1)]
        if any(s.last_key is not None for s in mine):
            break
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)  # closes its pipes
    assert victim.returncode == -signal.SIGKILL
    at_kill = {s.segment: s for s in history.segments(state) if s.segment in (0, 1)}
    assert not all(s.done for s in at_kill.values()), "killed too late to prove anything"
    assert all(s.owner == "exec-1:0-1" for s in at_kill.values())  # its leases are left

    for proc, item in zip(others, items[1:], strict=True):
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        done = json.loads(stdout)
        assert done["done"] and done["segments_pending"] == []
        assert done["segments"] == item["segments"] and done["config"] == out["config"]
        assert len(done["segments_done"]) == 2 and done["migrated"] > 0
        assert done["passes"] == 1 and done["resumed_from"] == {}
    # A checkpoint the victim sent just before SIGKILL may land after the snapshot above
    # (the server still applies a request in flight); read the checkpoints the re-run finds.
    left = {s.segment: s for s in history.segments(state) if s.segment in (0, 1)}
    assert not all(s.done for s in left.values())

    # The killed item again, as the state machine would (same input, so the same owner:
    # its leases are taken back without waiting for them to expire), with little time left
    # on each invocation so that it stops early and is invoked again until done.
    monkeypatch.setenv(SLEEP, "0.002")
    result: dict[str, Any] = dict(items[0])
    passes = []
    while not result.get("done"):
        result = handler(result, Clock(1.0))
        passes.append(result)
        assert len(passes) < 40 and result["held"] == {}
    first = passes[0]
    assert set(first["resumed_from"]) <= {"0", "1"} and first["resumed_from"]
    for seg, key in first["resumed_from"].items():
        assert key == left[int(seg)].last_key  # resumed from the killed worker's checkpoint
    assert any(p["stopped_early"] for p in passes) and len(passes) >= 2
    assert result["segments_done"] == [0, 1] and result["passes"] == len(passes)

    summary = status(out)
    assert summary["complete"] and summary["status"] == "applied"
    assert (summary["segments_done"], summary["segments_pending"]) == (8, [])
    counts = summary["counts"]
    # Items written by the killed worker after its last checkpoint count as "already".
    assert counts["changed"] + counts["already"] == ITEMS and counts["failed"] == 0

    customers = _customers(db)
    assert len(customers) == ITEMS
    assert {c.get("n") for c in customers} == {1}  # every item exactly once
    assert all("0001_count" in c["_mig"] for c in customers)
    segments = history.segments(state)
    assert len(segments) == 8 and all(s.done and not s.owner for s in segments)

    again = plan({**out["config"], "execution": "exec-2"})
    assert again["complete"] and again["items"] == []


def test_segments_held_by_another_owner_wait_then_stall(
        db: Client, tmp_path: Path, lambda_env: dict[str, str]) -> None:
    """A range another owner holds is not migrated: the worker reports it held (the state
    machine pauses and invokes again) and, after max_idle_passes, stalled."""
    _seed(db, 50)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_count.py").write_text(MIGRATION)
    out = plan({"migration": "1", "app": "tests.models:shop",
                "migrations": str(tmp_path / "migrations"), "table_name": db.table_name,
                "total_segments": 2, "segments_per_worker": 2, "max_idle_passes": 2})
    history = History(db)
    state = history.state("0001_count")
    assert state is not None
    assert not isinstance(history.claim(state, 1, "other-execution:0-1", 600), str)
    (item,) = map_items(out, "exec-1")
    first = handler(item, Clock(60))
    assert not first["done"] and not first["stopped_early"] and not first["stalled"]
    assert first["segments_done"] == [0] and first["segments_pending"] == [1]
    assert "other-execution" in first["held"]["1"] and first["idle_passes"] == 0
    second = handler(first, Clock(60))  # nothing to do: segment 1 is still held
    assert (second["idle_passes"], second["stalled"]) == (1, False)
    third = handler(second, Clock(60))
    assert (third["idle_passes"], third["stalled"], third["passes"]) == (2, True, 3)
    history.release(state, 1, "other-execution:0-1")  # the lease is gone: it finishes
    last = handler(third, Clock(60))
    assert last["done"] and last["idle_passes"] == 0 and not last["stalled"]
    assert status(out)["complete"]
    assert {c.get("n") for c in _customers(db)} == {1}
