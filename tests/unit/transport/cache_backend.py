"""A tiny in-memory DynamoDB and a fake clock, for the cache transports' unit tests."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from dyntable.errors import ServiceError, TransportError

T = "tbl"


def key(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def item(pk: str, sk: str = "A", **attrs: str) -> dict[str, Any]:
    return {**key(pk, sk), **{k: {"S": v} for k, v in attrs.items()}}


class FakeDynamo:
    """A tiny in-memory backend: just enough DynamoDB for the cache's requests."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.fail_next: Exception | None = None
        self.lose_answer: dict[str, Exception] = {}  # operation -> applied, then this error
        self.observe: Callable[[str], None] | None = None  # sees each call as it arrives
        self.jitter = 0.0  # seconds of random delay after each answer (to interleave threads)

    @staticmethod
    def _id(table: str, k: dict[str, Any]) -> tuple[str, str, str]:
        return table, k["PK"]["S"], k["SK"]["S"]

    def __call__(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.observe is not None:
            self.observe(operation)
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        with self.lock:
            response: dict[str, Any] = getattr(self, "op_" + operation)(params)
        lost = self.lose_answer.pop(operation, None)
        if lost is not None:
            raise lost
        if self.jitter:
            time.sleep(random.random() * self.jitter)
        return response

    def op_GetItem(self, p: dict[str, Any]) -> dict[str, Any]:
        found = self.items.get(self._id(p["TableName"], p["Key"]))
        return {"Item": dict(found)} if found else {}

    def op_PutItem(self, p: dict[str, Any]) -> dict[str, Any]:
        ident = self._id(p["TableName"], p["Item"])
        old = self.items.get(ident)
        self.items[ident] = dict(p["Item"])
        return {"Attributes": old} if old and p.get("ReturnValues") == "ALL_OLD" else {}

    def op_DeleteItem(self, p: dict[str, Any]) -> dict[str, Any]:
        self.items.pop(self._id(p["TableName"], p["Key"]), None)
        return {}

    def op_UpdateItem(self, p: dict[str, Any]) -> dict[str, Any]:
        ident = self._id(p["TableName"], p["Key"])
        current = dict(self.items.get(ident) or p["Key"])
        names, values = p.get("ExpressionAttributeNames", {}), p["ExpressionAttributeValues"]
        for name, value in re.findall(r"(#\w+) = (:\w+)", p["UpdateExpression"]):
            current[names[name]] = values[value]
        self.items[ident] = current
        return {"Attributes": dict(current)} if p.get("ReturnValues") == "ALL_NEW" else {}

    def op_Query(self, p: dict[str, Any]) -> dict[str, Any]:
        (name, value), = re.findall(r"(#\w+) = (:\w+)", p["KeyConditionExpression"])
        attr = p["ExpressionAttributeNames"][name]
        want = p["ExpressionAttributeValues"][value]
        items = [dict(i) for (t, _, _), i in sorted(self.items.items())
                 if t == p["TableName"] and i.get(attr) == want]
        return {"Items": items, "Count": len(items), "ScannedCount": len(items),
                "ConsumedCapacity": {"TableName": p["TableName"], "CapacityUnits": 0.5}}

    def op_Scan(self, p: dict[str, Any]) -> dict[str, Any]:
        items = [dict(i) for (t, _, _), i in sorted(self.items.items()) if t == p["TableName"]]
        return {"Items": items, "Count": len(items), "ScannedCount": len(items)}

    def op_BatchGetItem(self, p: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, list[Any]] = {}
        for table, spec in p["RequestItems"].items():
            for k in spec["Keys"]:
                found = self.items.get(self._id(table, k))
                if found:
                    out.setdefault(table, []).append(dict(found))
        return {"Responses": out, "UnprocessedKeys": {}}

    def op_BatchWriteItem(self, p: dict[str, Any]) -> dict[str, Any]:
        for table, actions in p["RequestItems"].items():
            for a in actions:
                if "PutRequest" in a:
                    self.op_PutItem({"TableName": table, "Item": a["PutRequest"]["Item"]})
                else:
                    self.op_DeleteItem({"TableName": table, "Key": a["DeleteRequest"]["Key"]})
        return {"UnprocessedItems": {}}

    def op_TransactWriteItems(self, p: dict[str, Any]) -> dict[str, Any]:
        for action in p["TransactItems"]:
            for kind, spec in action.items():
                getattr(self, f"op_{kind}Item")(spec)
        return {}

    def op_TransactGetItems(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"Responses": [self.op_GetItem(a["Get"]) for a in p["TransactItems"]]}

    def op_DescribeTable(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"Table": {"TableName": p["TableName"], "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"}]}}

    def op_DeleteTable(self, p: dict[str, Any]) -> dict[str, Any]:
        return {}

    def op_ExecuteStatement(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"Items": []}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def maybe_applied_error(kind: str) -> TransportError | ServiceError:
    """A failure after sending: the write may have been applied (here it was)."""
    error: TransportError | ServiceError
    if kind == "reset":
        error = TransportError("connection reset after the request was sent")
    else:
        error = ServiceError("internal error", code="InternalServerError", status=500)
    error.maybe_applied = True
    return error
