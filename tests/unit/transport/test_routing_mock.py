"""RoutingTransport and MockTransport."""

from __future__ import annotations

from typing import Any

import pytest

from dyntable.errors import ConditionalCheckFailedError
from dyntable.transport.base import TABLE_OPERATIONS, CallEvent
from dyntable.transport.mock import MockTransport
from dyntable.transport.routing import RoutingTransport


def answer(name: str) -> MockTransport:
    return MockTransport(lambda op, params: {"from": name})


def test_mock_records_calls_and_copies_params() -> None:
    mock = MockTransport(lambda op, p: {"Item": {"PK": {"S": "x"}}} if op == "GetItem" else {})
    params: dict[str, Any] = {"TableName": "t", "Key": {"PK": {"S": "x"}}}
    assert mock.send("GetItem", params) == {"Item": {"PK": {"S": "x"}}}
    params["Key"]["PK"]["S"] = "changed"
    assert mock.send("DeleteItem", {"TableName": "t"}) == {}
    assert mock.operations() == ["GetItem", "DeleteItem"]
    assert mock.sent[0].params["Key"] == {"PK": {"S": "x"}}
    assert mock.calls == 2


def test_mock_default_handler_and_errors_and_hooks() -> None:
    events: list[CallEvent] = []
    assert MockTransport().send("PutItem", {}) == {}

    def fail(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise ConditionalCheckFailedError("no", code="ConditionalCheckFailedException",
                                          operation=op)

    mock = MockTransport(fail, hooks=[events.append])
    with pytest.raises(ConditionalCheckFailedError):
        mock.send("PutItem", {"TableName": "t"})
    assert [(e.operation, e.table, e.error) for e in events] == [
        ("PutItem", "t", "ConditionalCheckFailedError")]
    mock.close()
    assert mock.closed


def test_mock_drives_a_client() -> None:
    from tests.models import Customer, shop

    mock = MockTransport(lambda op, p: {"Item": {
        "PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "CUSTOMER#ada"}, "_et": {"S": "customer"},
        "username": {"S": "ada"}, "email": {"S": "a@x.io"}, "name": {"S": "Ada"}}})
    db = shop.connect(transport=mock)
    ada = db.get(Customer, username="ada", consistent=True)
    assert ada is not None and ada.name == "Ada"
    assert mock.sent[0].params == {"TableName": "shop", "ConsistentRead": True,
                                   "Key": {"PK": {"S": "CUSTOMER#ada"},
                                           "SK": {"S": "CUSTOMER#ada"}}}


def test_routing_by_operation_then_default() -> None:
    reads, rest = answer("reads"), answer("rest")
    router = RoutingTransport(rest, {"GetItem": reads, "Query": reads})
    assert router.send("GetItem", {})["from"] == "reads"
    assert router.send("Query", {})["from"] == "reads"
    assert router.send("PutItem", {})["from"] == "rest"
    assert reads.operations() == ["GetItem", "Query"]
    assert rest.operations() == ["PutItem"]


def test_routing_predicates_come_first() -> None:
    dax, ddb, other = answer("dax"), answer("ddb"), answer("other")
    router = RoutingTransport(
        dax,
        dict.fromkeys(TABLE_OPERATIONS, ddb),
        rules=[(lambda op, p: p.get("TableName") == "audit", other)],
    )
    assert router.send("DescribeTable", {"TableName": "shop"})["from"] == "ddb"
    assert router.send("DescribeTable", {"TableName": "audit"})["from"] == "other"
    assert router.send("GetItem", {"TableName": "shop"})["from"] == "dax"
    assert router.route("PutItem", {"TableName": "audit"}) is other


def test_routing_closes_each_transport_once() -> None:
    a, b = answer("a"), answer("b")
    closes: list[str] = []
    a.close = lambda: closes.append("a")  # type: ignore[method-assign]
    b.close = lambda: closes.append("b")  # type: ignore[method-assign]
    with RoutingTransport(a, {"GetItem": b, "Query": b, "Scan": a}):
        pass
    assert closes == ["a", "b"]
