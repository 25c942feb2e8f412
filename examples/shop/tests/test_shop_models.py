"""The shop's models build: pydantic accepts every field type (models build on first use,
so this is the one place a field pydantic rejects is caught before a request meets it)."""

from __future__ import annotations

from shopapi.models import shop_table


def test_every_model_of_the_table_builds() -> None:
    shop_table.build_models()
    assert {m.__name__ for m in shop_table.models.values()} >= {"Customer", "Order", "OrderItem"}
    assert all(m.__pydantic_complete__ for m in shop_table.models.values())
