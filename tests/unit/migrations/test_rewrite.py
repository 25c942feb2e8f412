"""Per-item rewrites: statuses, the conditional UpdateItem, refused changes (no I/O)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dyntable._internal.codec.items import codec_for
from dyntable.migrations.data import Migration
from dyntable.migrations.errors import MigrationError
from dyntable.migrations.rewrite import rewrite_item
from tests.models import Customer, OrderLine, shop


def _lower(item: dict[str, Any]) -> dict[str, Any]:
    item["email"] = item["email"].lower()
    return item


def _customer_item(**extra: Any) -> dict[str, Any]:
    item = codec_for(Customer).encode(Customer(username="ada", email="ADA@X.IO", name="Ada",
                                               version=3))
    item.update(extra)
    return item


def _run(m: Migration, item: dict[str, Any], direction: str = "up") -> Any:
    return rewrite_item(m, item, direction=direction, table=shop,  # type: ignore[arg-type]
                        table_name="t")


LOWER = Migration("0001_lower", "lower e-mails", ("customer",), _lower, _lower)


def test_versioned_item_is_guarded_by_its_version_and_bumped() -> None:
    rw = _run(LOWER, _customer_item())
    assert rw.status == "write"
    p = rw.params
    names, values = p["ExpressionAttributeNames"], p["ExpressionAttributeValues"]
    assert rw.changes == {"email": ("ADA@X.IO", "ada@x.io")}
    assert {"S": "ada@x.io"} in values.values()
    assert {"N": "4"} in values.values()  # version bumped
    assert {"N": "3"} in values.values()  # ... guarded on the version read
    assert "version" in names.values() and "email" in names.values()
    assert "NOT contains(" in p["ConditionExpression"]
    assert "attribute_exists(" in p["ConditionExpression"]
    assert p["UpdateExpression"].startswith("SET ")
    assert "ADD " in p["UpdateExpression"]
    assert p["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    assert p["Key"] == {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "CUSTOMER#ada"}}
    tag = [v for v in values.values() if v == {"S": "0001_lower"}]
    assert tag, "writes are marked with the migration id"


def test_unversioned_item_is_guarded_by_every_previous_value() -> None:
    line = OrderLine(username="ada", order_id="o1", line=1, sku="X", quantity=2,
                     price=Decimal("9.5"), attributes={"colour": "red"})
    item = codec_for(OrderLine).encode(line)

    def double(v: dict[str, Any]) -> dict[str, Any]:
        v["quantity"] *= 2
        return v

    rw = _run(Migration("0002_double", "", ("order_line",), double), item)
    cond = rw.params["ConditionExpression"]
    names = set(rw.params["ExpressionAttributeNames"].values())
    assert {"sku", "quantity", "price", "attributes", "_entity"} <= names
    assert cond.count(" = ") >= 5
    assert {"M": {"colour": {"S": "red"}}} in rw.params["ExpressionAttributeValues"].values()
    assert rw.changes == {"quantity": (2, 4)}


def test_already_migrated_unchanged_and_down() -> None:
    done = _customer_item(_mig={"SS": ["0001_lower"]})
    assert _run(LOWER, done).status == "done"
    assert _run(LOWER, _customer_item(), "down").status == "done"  # never applied
    rw = _run(LOWER, done, "down")
    assert rw.status == "write"
    assert "DELETE " in rw.params["UpdateExpression"]
    assert {"S": "0001_lower:down"} in rw.params["ExpressionAttributeValues"].values()
    noop = Migration("0003_noop", "", ("customer",), lambda item: None)
    assert _run(noop, _customer_item()).status == "unchanged"
    same = Migration("0004_same", "", ("customer",), lambda item: item)
    assert _run(same, _customer_item()).status == "unchanged"


def test_removed_attribute_becomes_remove() -> None:
    def drop_name(v: dict[str, Any]) -> dict[str, Any]:
        del v["name"]
        return v

    rw = _run(Migration("0005_drop", "", ("customer",), drop_name), _customer_item())
    assert "REMOVE " in rw.params["UpdateExpression"]
    assert rw.changes == {"name": ("Ada", None)}


def test_refuses_key_and_version_changes_and_reports_failing_functions() -> None:
    def rekey(v: dict[str, Any]) -> dict[str, Any]:
        v["PK"] = "OTHER"
        return v

    def bump(v: dict[str, Any]) -> dict[str, Any]:
        v["version"] = 99
        return v

    def boom(v: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("nope")

    with pytest.raises(MigrationError, match="key attribute"):
        _run(Migration("0006_k", "", ("customer",), rekey), _customer_item())
    with pytest.raises(MigrationError, match="version attribute"):
        _run(Migration("0007_v", "", ("customer",), bump), _customer_item())
    with pytest.raises(MigrationError, match=r"0008_b up\(\) failed on item .*CUSTOMER#ada"):
        _run(Migration("0008_b", "", ("customer",), boom), _customer_item())
    with pytest.raises(MigrationError, match="no down"):
        _run(Migration("0009_n", "", ("customer",), _lower),
             _customer_item(_mig={"SS": ["0009_n"]}), "down")
