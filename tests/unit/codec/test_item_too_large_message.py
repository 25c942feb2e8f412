"""ItemTooLargeError says which item (model and key) and which attributes make it large."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dyntable import Key, Model, Table
from dyntable.client import Client
from dyntable.codec import codec_for
from dyntable.errors import ItemTooLargeError
from tests.models import Product

table = Table("too-large", pk="PK", sk="SK")


class Note(Model, table=table, entity="note"):
    owner: str
    note_id: str
    body: str = ""
    summary: str = ""

    primary = Key(pk="OWNER#{owner}", sk="NOTE#{note_id}")


def test_the_message_names_the_model_the_key_and_the_largest_attributes() -> None:
    note = Note(owner="ada", note_id="n1", body="x" * 400_000, summary="y" * 20_000)
    with pytest.raises(ItemTooLargeError) as caught:
        codec_for(Note).encode(note)
    message = str(caught.value)
    assert message.startswith("Note item is 420")
    assert "Item key: PK='OWNER#ada', SK='NOTE#n1'" in message
    assert "largest attributes: body (400004 bytes), summary (20007 bytes)" in message
    assert caught.value.key == {"PK": {"S": "OWNER#ada"}, "SK": {"S": "NOTE#n1"}}


def test_a_put_through_the_client_reports_the_key(offline_db: Client) -> None:
    big = Product(sku="s1", title="t" * 410_000, price=Decimal(1))
    with pytest.raises(ItemTooLargeError, match=r"Item key: PK='PRODUCT#s1', SK='PRODUCT'"):
        offline_db.put(big)
