"""The design model: indexes, key templates per index, samples under their entity, views."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ConfigDict

from dyntable import GSI, Key, Model, Table
from dyntable.design.model import build_design
from dyntable.design.values import key_order
from tests.models import shop
from tests.unit.design.shop import shop_design


def test_indexes_and_key_templates_per_index() -> None:
    design = shop_design()
    kinds = [(i.label, i.kind, i.pk_attrs, i.sk_attrs, i.projection) for i in design.indexes]
    assert kinds == [
        ("table", "table", ("PK",), ("SK",), "ALL"),
        ("GSI1", "GSI", ("GSI1PK",), ("GSI1SK",), "ALL"),
        ("GSI2", "GSI", ("GSI2PK",), ("GSI2SK",), "INCLUDE"),
        ("LSI1", "LSI", ("PK",), ("LSI1SK",), "ALL"),
    ]
    assert design.index("GSI2").include == ("status", "total", "_entity")
    assert design.index("GSI1").entities == ("customer", "order")
    order = design.entity("order")
    assert [(k.key, k.index, k.pk, k.sk) for k in order.keys] == [
        ("primary", None, ("CUSTOMER#{username}",), ("ORDER#{placed_at}#{order_id}",)),
        ("by_status", "GSI1", ("STATUS#{status}",), ("{placed_at}#{order_id}",)),
        ("awaiting_shipment", "GSI2", ("SHIPBY",), ("{ship_by}#{order_id}",)),
        ("by_total", "LSI1", ("CUSTOMER#{username}",), ("TOTAL#{total}",)),
    ]
    assert design.entity("product").key_on("GSI1") is None
    roles = {f.name: f.role for f in order.fields}
    assert roles["expires_at"] == "ttl"
    assert {f.name: f.role for f in design.entity("customer").fields}["version"] == "version"


def test_the_table_view_groups_partitions_and_sorts_by_sort_key() -> None:
    view = {p.key: [(r.entity, r.sort_key) for r in p.rows] for p in shop_design().view()}
    assert list(view) == ["CUSTOMER#ada", "CUSTOMER#grace", "PRODUCT#BOOK-42",
                          "PRODUCT#LAMP-1", "PRODUCT#PEN-7"]
    assert view["CUSTOMER#ada"] == [
        ("customer", "CUSTOMER#ada"),
        ("order_line", "LINE#o1#0001"),
        ("order_line", "LINE#o2#0001"),
        ("order", "ORDER#2026-11-01T09:00:00.000000Z#o1"),
        ("order", "ORDER#2026-11-20T16:30:00.000000Z#o2"),
    ]
    assert view["PRODUCT#PEN-7"] == [("product", "PRODUCT")]


def test_an_index_view_holds_only_its_items_and_what_it_projects() -> None:
    design = shop_design()
    (shipby,) = design.view("GSI2")  # sparse: only orders with ship_by, one constant partition
    assert shipby.key == "SHIPBY"
    assert [r.sort_key for r in shipby.rows] == ["2026-11-18#o3", "2026-11-23#o2"]
    names = {n for r in shipby.rows for n, _ in r.attributes}
    assert names == {"PK", "SK", "status", "total", "_entity"}  # INCLUDE status, total
    emails = [p.key for p in design.view("GSI1") if p.key.startswith("EMAIL#")]
    assert emails == ["EMAIL#ada@example.com", "EMAIL#grace@example.com"]
    first = design.view(None)[0].rows[0]
    assert [n for n, _ in first.attributes][:2] == ["GSI1PK", "GSI1SK"]  # keys first
    assert first.attributes[-1] == ("_entity", "customer")


def test_raw_items_are_placed_by_the_entity_rules_of_reads() -> None:
    keyed_only = {"PK": {"S": "CUSTOMER#zoe"}, "SK": {"S": "CUSTOMER#zoe"},
                  "username": {"S": "zoe"}, "email": {"S": "z@example.com"},
                  "name": {"S": "Zoe"}}  # no entity attribute: matched by its key templates
    stranger = {"PK": {"S": "WAREHOUSE#1"}, "SK": {"S": "W"}}
    design = build_design(shop, [keyed_only, stranger], source="live", examples=False,
                          placeholders=False)
    placed = {(s.item["PK"]["S"], s.entity, s.source) for s in design.items}
    assert placed == {("CUSTOMER#zoe", "customer", "live"), ("WAREHOUSE#1", None, "live")}
    note = next(s.note for s in design.items if s.entity is None)
    assert "no model's key templates fit the key" in note


def test_model_examples_then_stand_ins_fill_entities_without_samples() -> None:
    table = Table("design-examples", gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK")])

    class Team(Model, table=table, entity="team"):
        model_config = ConfigDict(json_schema_extra={"examples": [
            {"team_id": "t1", "name": "Core"}, {"team_id": "t2", "name": "Docs"}]})
        team_id: str
        name: str
        primary = Key(pk="TEAM#{team_id}", sk="TEAM")

    class Member(Model, table=table, entity="member"):
        team_id: str
        login: str
        primary = Key(pk="TEAM#{team_id}", sk="MEMBER#{login}")
        by_login = Key(index="GSI1", pk="LOGIN#{login}", sk="TEAM#{team_id}")

    design = build_design(table, [Member(team_id="t1", login="ada")])
    sources = sorted((s.entity, s.source) for s in design.items)
    assert sources == [("member", "given"), ("team", "example"), ("team", "example")]
    design = build_design(table)
    assert sorted((s.entity, s.source) for s in design.items) == [
        ("member", "generated"), ("team", "example"), ("team", "example")]
    generated = next(s.item for s in design.items if s.source == "generated")
    assert generated["GSI1PK"] == {"S": "LOGIN#login1"}
    assert Team.model_json_schema()["examples"][0]["team_id"] == "t1"  # pydantic's own place


def test_numbers_sort_by_value_and_strings_by_bytes() -> None:
    values: list[dict[str, Any]] = [{"N": "10"}, {"N": "9"}, {"N": "-1.5"}]
    assert [v["N"] for v in sorted(values, key=key_order)] == ["-1.5", "9", "10"]
    texts = [{"S": "b"}, {"S": "Z"}, {"S": "é"}, {"S": "a"}]
    assert [v["S"] for v in sorted(texts, key=key_order)] == ["Z", "a", "b", "é"]


def test_the_design_is_plain_data() -> None:
    data = json.loads(json.dumps(shop_design().to_dict(), default=str))
    assert data["table"] == "shop"
    assert {e["entity"] for e in data["entities"]} == {"customer", "order", "order_line",
                                                      "product"}
    assert len(data["access_patterns"]) == 8


def test_unique_and_timestamp_fields_are_listed_with_their_guard_items() -> None:
    from datetime import datetime
    from typing import Annotated

    from dyntable import CreatedAt, Key, Model, Table, Unique
    from dyntable.design.model import build_design

    t = Table("design_unique")

    class Member(Model, table=t, entity="member"):
        id: str
        email: Annotated[str, Unique]
        joined: Annotated[datetime | None, CreatedAt] = None
        primary = Key(pk="M#{id}", sk="M")

    fields = {f.name: f.role for f in build_design(t).entities[0].fields}
    assert fields["email"] == "unique (guard items _dyntable#unique#member#email#{value})"
    assert fields["joined"] == "created at"
