"""Every keyword that names a field is checked against the model (issue 12, defect 4).

Before: ``.begins_with(placedat=...)`` (a typo for ``placed_at``) and the same typo in
``gt/lt/ge/le/between`` were dropped, so the condition fell back to the template's literal
prefix and returned every order (or none); ``get(Customer, usernme="ada")`` said
``missing key field(s) ['username', 'username']`` without naming the unknown keyword.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from dyntable import F
from dyntable.client import Client
from dyntable.errors import ExpressionError, KeyTemplateError
from tests.models import Customer, Order, Product

AT = datetime(2026, 11, 1, tzinfo=timezone.utc)
SK_TYPO = r"\['placedat'\] are not sort key fields \(did you mean 'placed_at'"

QUERIES: list[tuple[str, Callable[[Any], Any]]] = [
    ("begins_with", lambda q: q.begins_with(placedat="2026-11")),
    ("gt", lambda q: q.gt(placedat=AT)),
    ("ge", lambda q: q.ge(placedat=AT)),
    ("lt", lambda q: q.lt(placedat=AT)),
    ("le", lambda q: q.le(placedat=AT)),
    ("eq", lambda q: q.eq(placedat=AT, order_id="o1")),
    ("between low", lambda q: q.between({"placedat": AT}, {"placed_at": AT})),
    ("between high", lambda q: q.between({"placed_at": AT}, {"placedat": AT})),
]


@pytest.mark.parametrize("name, condition", QUERIES, ids=[n for n, _ in QUERIES])
def test_a_misspelt_sort_key_field_is_refused(
    offline_db: Client, name: str, condition: Callable[[Any], Any]
) -> None:
    with pytest.raises(KeyTemplateError, match=SK_TYPO):
        condition(offline_db.query(Order.primary, username="ada"))


def test_a_misspelt_partition_field_is_refused(offline_db: Client) -> None:
    with pytest.raises(KeyTemplateError, match=r"\['usernme'\] are not fields of this key "
                                               r"\(did you mean 'username'"):
        offline_db.query(Order.primary, usernme="ada")  # type: ignore[call-arg]


@pytest.mark.parametrize("call", [
    lambda db: db.get(Customer, usernme="ada"),
    lambda db: db.delete(Customer, usernme="ada"),
    lambda db: db.update(Customer, usernme="ada").set(name="x").params(),
    lambda db: db.batch_get([Customer.primary(usernme="ada")]),  # type: ignore[call-arg]
    lambda db: db.transact_get([Customer.primary(usernme="ada")]),  # type: ignore[call-arg]
])
def test_a_misspelt_key_field_is_named(offline_db: Client, call: Callable[[Client], Any]
                                       ) -> None:
    with pytest.raises(KeyTemplateError) as info:
        call(offline_db)
    message = str(info.value)
    assert "unknown key field(s) ['usernme']" in message
    assert "did you mean 'username'" in message
    assert message.count("'username'") == 2  # the suggestion and the one key field


def test_missing_and_none_key_fields_are_told_apart(offline_db: Client) -> None:
    with pytest.raises(KeyTemplateError, match=r"missing key field\(s\) \['order_id'\]"):
        offline_db.get(Order, username="ada", placed_at=AT)  # type: ignore[call-arg]
    with pytest.raises(KeyTemplateError, match=r"key field\(s\) \['order_id'\] are None"):
        offline_db.get(Order, username="ada", placed_at=AT, order_id=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("call", [
    lambda db: db.update(Product, sku="s").set(titel="x").params(),
    lambda db: db.update(Product, sku="s").add(stok=1).params(),
    lambda db: db.update(Product, sku="s").set_default(titel="x").params(),
    lambda db: db.update(Product, sku="s").remove("titel").params(),
    lambda db: db.scan(Product).where(F.titel == "x").params(),
    lambda db: db.scan(Product).project("titel"),
])
def test_a_misspelt_field_in_updates_filters_and_projections_is_refused(
    offline_db: Client, call: Callable[[Client], Any]
) -> None:
    with pytest.raises(ExpressionError, match=r"has no field 'tit?e?l?|stok'"):
        call(offline_db)


def test_a_misspelt_constructor_keyword_is_refused() -> None:
    with pytest.raises(ValueError, match=r"emial\n  Extra inputs are not permitted"):
        Customer(username="ada", email="a@x.io", name="Ada", emial="typo@x.io")  # type: ignore[call-arg]
