"""Service errors whose message says how to fix them."""

from __future__ import annotations

from dyntable.errors import TableNotFoundError, service_error


def test_a_missing_table_says_how_to_create_it() -> None:
    err = service_error("ResourceNotFoundException", "Requested resource not found",
                        operation="GetItem")
    assert isinstance(err, TableNotFoundError)
    err.with_context(table="shop-dev")
    text = str(err)
    assert text.startswith("ResourceNotFoundException: Requested resource not found")
    assert "table 'shop-dev' does not exist yet" in text
    assert "db.create_table()" in text and "dyntable table create" in text


def test_a_missing_stream_gets_no_table_hint() -> None:
    err = service_error("ResourceNotFoundException", "Requested resource not found",
                        operation="GetShardIterator")
    assert isinstance(err, TableNotFoundError)
    assert "create_table" not in str(err)
