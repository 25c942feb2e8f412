"""DynamoDB's nesting limit and UTF-8 text, checked against DynamoDB Local itself.

dyntable refuses locally exactly what the server refuses: 31 maps or lists inside one
another are stored and read back; 32 are refused by the server, and by dyntable before
anything is sent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dyntable._internal.codec.limits import MAX_CONTAINERS
from dyntable.client import Client
from dyntable.codec import codec_for
from dyntable.errors import InvalidValueError, ServiceValidationError
from tests.models import OrderLine

pytestmark = pytest.mark.integration


def _line(attributes: dict[str, Any]) -> OrderLine:
    return OrderLine(username="ada", order_id="o1", line=1, sku="s", quantity=1,
                     price=Decimal(1), attributes=attributes)


def _nested(containers: int) -> Any:
    value: Any = "leaf"
    for i in range(containers):
        value = {"k": value} if i % 2 else [value]
    return value


def test_the_local_nesting_limit_is_the_server_limit(db: Client) -> None:
    deepest = _line({"k": _nested(MAX_CONTAINERS - 1)})  # ``attributes`` is the 31st map
    db.put(deepest)
    assert db.get(OrderLine, username="ada", order_id="o1", line=1) == deepest

    too_deep = _line({"k": _nested(MAX_CONTAINERS)})
    with pytest.raises(InvalidValueError, match=r"attributes\.k.* is nested too deep"):
        db.put(too_deep)
    # what the server says about the same item, sent without dyntable's check
    item = codec_for(OrderLine).encode(deepest)
    av: dict[str, Any] = item["attributes"]
    while "M" in av or "L" in av:
        av = av["M"]["k"] if "M" in av else av["L"][0]
    av["L"] = [{"S": "leaf"}]
    del av["S"]
    with pytest.raises(ServiceValidationError, match="Nesting Levels"):
        db.send("PutItem", {"TableName": db.table_name, "Item": item})


def test_a_lone_surrogate_is_refused_before_sending(db: Client) -> None:
    with pytest.raises(InvalidValueError, match=r"attributes\.note holds a lone surrogate"):
        db.put(_line({"note": "a\udc80b"}))
    db.put(_line({"note": "café 😀"}))
    got = db.get(OrderLine, username="ada", order_id="o1", line=1)
    assert got is not None and got.attributes == {"note": "café 😀"}
