"""``dyntable table create | diff | sync`` on a global table, offline: the commands reach
each replica's region through a client made with the same options."""

from __future__ import annotations

from typing import Any

import pytest

from dyntable import Table
from dyntable.client import Client
from dyntable.schema.settings import Replica
from tests.unit.migrations.control_plane import ControlPlane

click_testing = pytest.importorskip("click.testing")

from dyntable.cli.main import main  # noqa: E402

ORDERS = Table("orders", stream="NEW_AND_OLD_IMAGES", point_in_time_recovery=True,
               tags={"team": "orders"},
               replicas=["eu-west-1", Replica("ap-south-1", tags={"team": "in"})])


@pytest.fixture
def plane(monkeypatch: pytest.MonkeyPatch) -> ControlPlane:
    cp = ControlPlane()

    def connect(app: str, endpoint_url: str | None, region: str | None,
                table_name: str | None, **options: Any) -> Client:
        return ORDERS.connect(transport=cp.transport(region), table_name=table_name)

    monkeypatch.setattr("dyntable.cli.table.connect", connect)
    return cp


def _run(*args: str) -> tuple[int, str]:
    result = click_testing.CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_create_then_sets_each_replicas_own_settings_in_its_region(plane: ControlPlane) -> None:
    code, out = _run("table", "create", "--app", "x:orders")
    assert code == 0, out
    assert "created table orders" in out
    assert "set tags {'team': 'in'} [in ap-south-1]" in out
    assert plane.tags["ap-south-1"] == {"team": "in"}
    assert plane.backups == {"us-east-1": True, "eu-west-1": True, "ap-south-1": True}
    assert set(plane.transports) == {"us-east-1", "eu-west-1", "ap-south-1"}
    assert [op for op, _ in plane.sent("ap-south-1")] == [
        "DescribeTable", "DescribeContinuousBackups", "ListTagsOfResource",
        "UpdateContinuousBackups", "TagResource"]

    code, out = _run("table", "diff", "--app", "x:orders", "--exit-code")
    assert (code, out.splitlines()[0]) == (0, "table orders: no differences")


def test_sync_dry_run_lists_replica_steps(plane: ControlPlane) -> None:
    _run("table", "create", "--app", "x:orders")
    plane.tables["us-east-1"]["Replicas"].pop()  # ap-south-1 went away
    code, out = _run("table", "sync", "--app", "x:orders", "--dry-run")
    assert code == 0, out
    assert "+ add replica ap-south-1" in out
    code, out = _run("table", "diff", "--app", "x:orders")
    assert "replicas are added or removed one per step" in out
