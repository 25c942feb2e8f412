"""The Step Functions worker's input and output shapes, its deadline, and the plan (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from dyntable.deploy.stepfunctions import state_machine_definition
from dyntable.migrations import distributed
from dyntable.migrations.distributed import WorkerInput, map_items, plan, plan_items
from dyntable.migrations.errors import MigrationError

CONFIG = {"migration": "0001_bump", "direction": "up", "run": 2, "total_segments": 8,
          "app": "tests.models:shop", "migrations": "migrations", "table_name": "shop-prod",
          "threads": 2, "page_size": 50}


class Clock:
    """A Lambda context whose remaining time is set by the test."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.left * 1000)


@pytest.mark.parametrize(("total", "per", "ranges"), [
    (10, 4, ["0-3", "4-7", "8-9"]),
    (3, 1, ["0", "1", "2"]),
    (3, 8, ["0-2"]),
    (9, 4, ["0-3", "4-7", "8"]),
])
def test_plan_items_cover_every_segment_once(total: int, per: int, ranges: list[str]) -> None:
    assert plan_items(total, per) == ranges
    covered = [s for r in ranges for s in WorkerInput.of(
        {"config": CONFIG, "total_segments": total, "segments": r}).segment_numbers]
    assert covered == list(range(total))


@pytest.mark.parametrize(("total", "per"), [(0, 1), (4, 0), (4, 1.5)])
def test_plan_items_refuse_bad_numbers(total: int, per: Any) -> None:
    with pytest.raises(MigrationError):
        plan_items(total, per)


def test_map_items_are_what_the_item_selector_builds() -> None:
    """The Map's ItemSelector and map_items() (used without Step Functions) agree."""
    out = {"config": CONFIG, "items": ["0-3", "4-7"]}
    items = map_items(out, "exec-1")
    selector = state_machine_definition("0001_bump")["States"]["Segments"]["ItemSelector"]
    assert {k.removesuffix(".$") for k in selector} == set(items[0])
    assert selector == {"config.$": "$.config", "segments.$": "$$.Map.Item.Value",
                        "execution.$": "$$.Execution.Name"}
    assert [i["segments"] for i in items] == ["0-3", "4-7"]


def test_worker_input_reads_config_and_item_keys() -> None:
    spec = WorkerInput.of({"config": CONFIG, "segments": "4-5", "execution": "exec-1"})
    assert spec.target.app == "tests.models:shop" and spec.target.table_name == "shop-prod"
    assert (spec.migration, spec.direction, spec.total_segments) == ("0001_bump", "up", 8)
    assert spec.segment_numbers == [4, 5]
    assert spec.owner == "exec-1:4-5"  # stable: a retried invocation reclaims its leases
    assert (spec.threads, spec.page_size, spec.lease_seconds) == (2, 50, 120.0)
    assert spec.stop_margin_seconds == distributed.DEFAULT_STOP_MARGIN
    # Flat inputs (no config) and lists of segments are accepted too; an owner wins.
    flat = WorkerInput.of({**CONFIG, "segments": [1, 3], "owner": "me"})
    assert flat.segment_numbers == [1, 3] and flat.owner == "me"


def test_worker_input_without_execution_gets_a_unique_owner() -> None:
    a = WorkerInput.of({"config": CONFIG, "segments": "0"})
    b = WorkerInput.of({"config": CONFIG, "segments": "0"})
    assert a.owner != b.owner and a.owner.endswith(":0")


def test_worker_input_takes_configuration_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNTABLE_APP", "myapp.models:table")
    monkeypatch.setenv("DYNTABLE_MIGRATIONS", "/var/task/migrations")
    monkeypatch.setenv("DYNTABLE_TABLE_NAME", "prod")
    monkeypatch.setenv("DYNTABLE_ENDPOINT_URL", "http://127.0.0.1:1")
    spec = WorkerInput.of({"migration": "1", "total_segments": 4, "segments": "0-1"})
    assert spec.target == distributed._Target("myapp.models:table", "/var/task/migrations",
                                              "prod", "http://127.0.0.1:1")


@pytest.mark.parametrize(("change", "message"), [
    ({"segments": "6-9"}, "outside 0-7"),
    ({"segments": ""}, "'segments' must name"),
    ({"segments": None}, "'segments' must name"),
    ({"total_segments": "8"}, "'total_segments' must be an integer"),
    ({"direction": "sideways"}, "'direction' must be 'up' or 'down'"),
    ({"threads": 0}, "'threads' must be an integer >= 1"),
    ({"page_size": True}, "'page_size'"),
    ({"app": None}, "give 'app' in the input or set DYNTABLE_APP"),
    ({"migration": 7}, "'migration' must be a string"),
])
def test_bad_worker_input_is_a_typed_error_naming_the_key(
        change: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DYNTABLE_APP", raising=False)
    event = {k: v for k, v in {**CONFIG, "segments": "0", **change}.items() if v is not None}
    with pytest.raises(MigrationError, match=message):
        WorkerInput.of(event)


def test_execution_input_may_not_change_what_is_imported() -> None:
    """The execution's input can tune the run, never name the code the functions import."""
    with pytest.raises(MigrationError, match="not app, migrations"):
        plan({"migration": "1", "input": {"app": "evil:x", "migrations": "evil:y",
                                          "total_segments": 4}})


def test_deadline_keeps_a_margin_and_at_most_half_the_time() -> None:
    clock = Clock(900)
    deadline = distributed._Deadline(clock, 60)
    assert deadline.margin == 60 and not deadline()
    clock.left = 60.5
    assert not deadline()
    clock.left = 59.9
    assert deadline() and deadline.fired
    clock.left = 500  # once fired, the run stays stopped
    assert deadline()
    short = distributed._Deadline(Clock(30), 60)  # a 30 s function still does work
    assert short.margin == 15


def test_without_a_lambda_context_there_is_no_deadline() -> None:
    deadline = distributed._Deadline(None, 60)
    assert deadline.remaining() == float("inf") and not deadline()
