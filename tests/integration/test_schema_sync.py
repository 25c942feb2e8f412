"""Schema sync on DynamoDB Local: add a GSI to a live table, then the diff is empty."""

from __future__ import annotations

import pytest

from dyntable import GSI, Table
from dyntable.client import Client
from dyntable.migrations.diff import diff_live
from dyntable.migrations.errors import SchemaSyncError
from dyntable.migrations.sync import sync_table
from tests.models import Customer, shop

pytestmark = [
    pytest.mark.integration,
    pytest.mark.with_stream,
    pytest.mark.sync_only("schema sync runs on the sync client (an operator tool)"),
]


def _wider() -> Table:
    return Table("shop", gsis=[*shop.gsis, GSI("GSI3", pk="GSI3PK", sk="GSI3SK")],
                 lsis=shop.lsis, ttl="expires_at", stream="NEW_AND_OLD_IMAGES")


def test_fresh_table_matches_its_declaration(db: Client) -> None:
    assert diff_live(db).empty


def test_sync_adds_a_gsi_then_drops_it_only_when_allowed(db: Client) -> None:
    for i in range(30):
        db.put(Customer(username=f"u{i}", email=f"u{i}@x.io", name="n"))
    live = _wider().connect(transport=db.transport, table_name=db.table_name)
    planned = diff_live(live)
    assert [(c.kind, c.target) for c in planned.changes] == [("add_index", "GSI3")]
    steps: list[str] = []
    sync_table(live, poll=0.05, echo=steps.append)
    assert any("add GSI GSI3" in s for s in steps)
    assert diff_live(live).empty
    gsis = {g["IndexName"]: g for g in db.describe_table()["GlobalSecondaryIndexes"]}
    assert gsis["GSI3"]["IndexStatus"] == "ACTIVE"

    back = diff_live(db)  # the original declaration has no GSI3
    assert [(c.kind, c.destructive) for c in back.changes] == [("drop_index", True)]
    with pytest.raises(SchemaSyncError, match="--allow-destructive"):
        sync_table(db, poll=0.05)
    assert "GSI3" in {g["IndexName"] for g in db.describe_table()["GlobalSecondaryIndexes"]}
    sync_table(db, allow_destructive=True, poll=0.05)
    assert diff_live(db).empty
    assert db.get(Customer, username="u3") is not None
