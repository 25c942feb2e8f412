"""Access patterns compile with the real query builder; warnings a reviewer wants."""

from __future__ import annotations

from typing import Literal

from dyntable import GSI, Key, Model, Table
from dyntable.design.checks import find_issues
from dyntable.design.model import build_design
from dyntable.transport.mock import MockTransport
from tests.models import Customer, Order, OrderLine, Product, shop
from tests.unit.design.shop import shop_design


def test_every_declared_key_is_an_access_pattern_compiled_by_the_query_builder() -> None:
    patterns = shop_design().access_patterns
    assert [(p.model, p.key, p.index) for p in patterns] == [
        ("Customer", "primary", None), ("Customer", "by_email", "GSI1"),
        ("Order", "primary", None), ("Order", "by_status", "GSI1"),
        ("Order", "awaiting_shipment", "GSI2"), ("Order", "by_total", "LSI1"),
        ("OrderLine", "primary", None), ("Product", "primary", None),
    ]
    recorder = MockTransport()
    db = shop.connect(transport=recorder)
    expected = [
        db.query(Customer.primary, username="ada").params(),
        db.query(Customer.by_email, email="ada@example.com").params(),
        db.query(Order.primary, username="ada").params(),
        db.query(Order.by_status, status="DELIVERED").params(),
        db.query(Order.awaiting_shipment).params(),
        db.query(Order.by_total, username="ada").params(),
        db.query(OrderLine.primary, username="ada").params(),
        db.query(Product.primary, sku="BOOK-42").params(),
    ]
    assert [p.request for p in patterns] == [{"operation": "Query", "params": e}
                                             for e in expected]
    assert recorder.sent == []
    assert patterns[1].call == "db.query(Customer.by_email, email='ada@example.com')"
    assert patterns[1].request["params"]["KeyConditionExpression"] == \
        "#n0 = :v0 AND begins_with(#n1, :v1)"
    assert patterns[4].call == "db.query(Order.awaiting_shipment)"
    assert (patterns[2].pk_fields, patterns[2].sk_fields) == (("username",),
                                                              ("placed_at", "order_id"))


def _kinds(table: Table) -> list[tuple[str, str | None, str | None]]:
    return [(f.kind, f.index, f.entity) for f in find_issues(table)]


def test_the_shop_warnings() -> None:
    found = {(f.kind, f.index, f.entity): f for f in shop_design().warnings}
    constant = found[("hot-partition", "GSI2", "order")]
    assert constant.severity == "warning" and "'SHIPBY'" in constant.message
    assert "at most 3 values" in found[("hot-partition", "GSI1", "order")].message
    assert ("hot-partition", None, "customer") not in found
    overloaded = found[("overloaded-index", "GSI1", None)].message
    assert "customer (EMAIL#{email})" in overloaded and "order (STATUS#{status})" in overloaded
    assert "order items with ship_by set" in found[("sparse-index", "GSI2", None)].message
    assert "note, expires_at" in found[("unprojected", "GSI2", "order")].message
    assert "10 GB" in found[("lsi-item-collection", "LSI1", None)].message
    assert "'TOTAL#{total}'" in found[("text-sorted-number", "LSI1", "order")].message
    assert ("text-sorted-number", None, "order_line") not in found  # {line:04d} is padded


def test_colliding_overloads_and_fields_projected_nowhere() -> None:
    table = Table("design-checks", gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK",
                                             projection="KEYS_ONLY")])

    class Ticket(Model, table=table, entity="ticket"):
        ticket_id: str
        state: Literal["open", "closed"]
        owner: str
        body: str = ""
        primary = Key(pk="TICKET#{ticket_id}", sk="TICKET")
        by_owner = Key(index="GSI1", pk="{owner}", sk="TICKET#{ticket_id}")

    class Comment(Model, table=table, entity="comment"):
        ticket_id: str
        author: str
        primary = Key(pk="TICKET#{ticket_id}", sk="COMMENT#{author}")
        by_author = Key(index="GSI1", pk="{author}", sk="COMMENT#{ticket_id}")

    found = {(f.kind, f.index, f.entity): f.message for f in find_issues(table)}
    assert "start with the same text ('',)" in found[("overloaded-index", "GSI1", "comment")]
    assert "ticket fields state, body are not in it" in found[("unprojected", "GSI1", "ticket")]
    assert "ticket fields state, body are projected into none" in \
        found[("unprojected", None, "ticket")]
    assert ("unprojected", None, "comment") not in found  # its fields come back from keys
    assert not any(k == "lsi-item-collection" for k, _, _ in found)


def test_a_design_without_samples_still_compiles_every_pattern() -> None:
    design = build_design(shop, examples=False, placeholders=False)
    assert design.items == ()
    assert all(p.request.get("operation") == "Query" for p in design.access_patterns)
    assert design.access_patterns[0].call == "db.query(Customer.primary, username='username1')"
    assert design.access_patterns[3].call == "db.query(Order.by_status, status='PLACED')"
