"""Schema diff against hand-made DescribeTable answers (no I/O)."""

from __future__ import annotations

import copy
from typing import Any

from dyntable import GSI, LSI, Table
from dyntable._internal.operations.tables import create_table_params
from dyntable.migrations.diff import diff_table
from dyntable.migrations.sync import is_settled
from tests.models import shop


def _live(table: Table) -> dict[str, Any]:
    """What DescribeTable answers for a table created from ``table``."""
    desc = copy.deepcopy(create_table_params(table))
    desc["TableStatus"] = "ACTIVE"
    desc["BillingModeSummary"] = {"BillingMode": desc.pop("BillingMode")}
    for g in desc.get("GlobalSecondaryIndexes", []):
        g["IndexStatus"] = "ACTIVE"
    return desc


TTL_ON = {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}}


def test_identical_table_has_no_differences() -> None:
    assert diff_table(shop, _live(shop), TTL_ON).empty


def test_missing_table_is_created() -> None:
    d = diff_table(shop, None, table_name="phys")
    assert [c.kind for c in d.changes] == ["create_table"]
    assert d.changes[0].params["TableName"] == "phys"


def test_added_gsi_is_one_update_with_its_attribute_definitions() -> None:
    wider = Table("shop", gsis=[*shop.gsis, GSI("GSI3", pk="GSI3PK", sk="GSI3SK")],
                  lsis=shop.lsis, ttl="expires_at", stream="NEW_AND_OLD_IMAGES")
    d = diff_table(wider, _live(shop), TTL_ON, table_name="phys")
    assert [c.kind for c in d.changes] == ["add_index"]
    p = d.changes[0].params
    assert p["TableName"] == "phys"
    assert p["AttributeDefinitions"] == [{"AttributeName": "GSI3PK", "AttributeType": "S"},
                                         {"AttributeName": "GSI3SK", "AttributeType": "S"}]
    (update,) = p["GlobalSecondaryIndexUpdates"]
    assert update["Create"]["IndexName"] == "GSI3"
    assert not d.destructive


def test_removed_and_changed_gsis_are_destructive_drops_first() -> None:
    changed = Table("shop", gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK", projection="KEYS_ONLY")],
                    lsis=shop.lsis, ttl="expires_at", stream="NEW_AND_OLD_IMAGES")
    d = diff_table(changed, _live(shop), TTL_ON)
    kinds = [(c.kind, c.target) for c in d.changes]
    assert kinds == [("drop_index", "GSI1"), ("drop_index", "GSI2"), ("add_index", "GSI1")]
    assert {c.target for c in d.destructive} == {"GSI1", "GSI2"}
    for c in d.changes:
        assert len(c.params["GlobalSecondaryIndexUpdates"]) == 1


def test_stream_ttl_billing_and_class() -> None:
    other = Table("shop", gsis=shop.gsis, lsis=shop.lsis, ttl="gone_at", stream="KEYS_ONLY",
                  billing_mode="PROVISIONED", read_capacity=5, write_capacity=5,
                  table_class="STANDARD_INFREQUENT_ACCESS")
    d = diff_table(other, _live(shop), TTL_ON)
    by_kind = [(c.kind, c.destructive) for c in d.changes]
    assert ("billing", False) in by_kind
    assert by_kind.count(("stream", True)) == 1 and by_kind.count(("stream", False)) == 1
    assert by_kind.count(("ttl", False)) == 2
    assert ("table_class", False) in by_kind
    billing = next(c for c in d.changes if c.kind == "billing")
    assert billing.params["ProvisionedThroughput"] == {"ReadCapacityUnits": 5,
                                                       "WriteCapacityUnits": 5}
    assert len(billing.params["GlobalSecondaryIndexUpdates"]) == 2
    assert all("once per hour" in c.note for c in d.changes if c.kind == "ttl")


def test_stream_off_is_destructive_and_lsi_change_is_unsupported() -> None:
    plain = Table("shop", gsis=shop.gsis, lsis=[LSI("LSI9", sk="LSI9SK")], ttl="expires_at")
    d = diff_table(plain, _live(shop), TTL_ON)
    assert [c.kind for c in d.destructive] == ["stream"]
    assert {c.target for c in d.unsupported} == {"LSI1", "LSI9"}
    assert "!" in str(d)


def test_is_settled_waits_for_backfill() -> None:
    desc = _live(shop)
    assert is_settled(desc)
    desc["GlobalSecondaryIndexes"][0]["Backfilling"] = True
    assert not is_settled(desc)
    desc["GlobalSecondaryIndexes"][0].update(Backfilling=False, IndexStatus="CREATING")
    assert not is_settled(desc)
