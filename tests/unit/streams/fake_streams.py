"""DynamoDB Streams and a lease table in memory: a mock transport's handler, and a driver
that runs flows against it with a fake clock (no network, no client).

Only what the consumer's flows send is answered: DescribeTable, CreateTable, DescribeStream
(two shards a page, to exercise pagination), GetShardIterator, GetRecords, and the lease
table's Query, GetItem and PutItem. Lease puts are checked as DynamoDB checks a versioned
put: the stored version must be the one before the item's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dyntable._internal.operations.flow import Emit, Flow, Request, Sleep
from dyntable.errors import (
    ConditionalCheckFailedError,
    DyntableError,
    ExpiredIteratorError,
    TableNotFoundError,
    TrimmedDataError,
)
from dyntable.schema.model import Model
from tests.unit.streams.lambda_events import record

R = TypeVar("R")
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/shop/stream/2026-11-26T00:00:00.000"
BASE = 500000000000000000000000


def seq(i: int) -> str:
    """The i-th sequence number of the fake stream."""
    return str(BASE + i)


@dataclass
class FakeShard:
    shard_id: str
    parent: str | None
    start: int
    records: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    trimmed_before: int = 0  # sequence numbers below this one are past retention


class FakeStreams:
    """The handler: ``MockTransport(fake)`` / ``AsyncMockTransport(fake)``, or :meth:`drive`.

    Attributes:
        calls: ``(operation, params)`` of every call, in order.
        expire: iterators GetRecords answers with ExpiredIteratorException (once each).
        on_call: called with (operation, params) before each answer (to change the fake
            mid-run).
    """

    def __init__(self, table: str = "shop", lease_table: str = "leases") -> None:
        self.table = table
        self.lease_table = lease_table
        self.lease_table_exists = False
        self.shards: dict[str, FakeShard] = {}
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.expire: set[str] = set()
        self.on_call: Callable[[str, dict[str, Any]], None] | None = None
        self.now = 1_000_000.0  # the fake clocks (wall and monotonic), advanced by sleeps
        self.sleeps: list[float] = []

    # -- the stream ----------------------------------------------------------------------

    def add_shard(self, shard_id: str, start: int, *, parent: str | None = None,
                  closed: bool = False) -> FakeShard:
        shard = FakeShard(shard_id, parent, start, closed=closed)
        self.shards[shard_id] = shard
        return shard

    def write(self, shard_id: str, i: int, obj: Model, event: str = "INSERT") -> str:
        """Append a record of ``obj`` with sequence number ``seq(i)`` to the shard."""
        s = seq(i)
        raw = record(event, s, new=obj)
        raw.pop("eventSourceARN", None)  # GetRecords records carry no source ARN
        self.shards[shard_id].records.append(raw)
        return s

    # -- the handler ---------------------------------------------------------------------

    def __call__(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, params))
        if self.on_call is not None:
            self.on_call(operation, params)
        answer: Callable[[dict[str, Any]], dict[str, Any]] = getattr(self, f"_{operation}")
        return answer(params)

    def operations(self) -> list[str]:
        return [op for op, _ in self.calls]

    def _DescribeTable(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TableName"]
        if name == self.table:
            return {"Table": {"TableName": name, "TableStatus": "ACTIVE",
                              "LatestStreamArn": ARN,
                              "StreamSpecification": {"StreamEnabled": True,
                                                      "StreamViewType": "NEW_AND_OLD_IMAGES"}}}
        if name == self.lease_table and self.lease_table_exists:
            return {"Table": {"TableName": name, "TableStatus": "ACTIVE"}}
        raise TableNotFoundError("Requested resource not found",
                                 code="ResourceNotFoundException", operation="DescribeTable",
                                 status=400)

    def _CreateTable(self, params: dict[str, Any]) -> dict[str, Any]:
        assert params["TableName"] == self.lease_table
        self.lease_table_exists = True
        return {"TableDescription": {"TableName": self.lease_table, "TableStatus": "CREATING"}}

    def _DescribeStream(self, params: dict[str, Any]) -> dict[str, Any]:
        assert params["StreamArn"] == ARN
        ids = list(self.shards)
        first = ids.index(params["ExclusiveStartShardId"]) + 1 \
            if "ExclusiveStartShardId" in params else 0
        page = [self.shards[i] for i in ids[first:first + 2]]
        desc: dict[str, Any] = {"StreamArn": ARN, "StreamStatus": "ENABLED",
                                "Shards": [self._shard(s) for s in page]}
        if first + 2 < len(ids):
            desc["LastEvaluatedShardId"] = page[-1].shard_id
        return {"StreamDescription": desc}

    def _shard(self, shard: FakeShard) -> dict[str, Any]:
        rng = {"StartingSequenceNumber": seq(shard.start)}
        if shard.closed:
            last = shard.records[-1]["dynamodb"]["SequenceNumber"] if shard.records \
                else seq(shard.start)
            rng["EndingSequenceNumber"] = last
        raw: dict[str, Any] = {"ShardId": shard.shard_id, "SequenceNumberRange": rng}
        if shard.parent:
            raw["ParentShardId"] = shard.parent
        return raw

    def _GetShardIterator(self, params: dict[str, Any]) -> dict[str, Any]:
        shard = self.shards[params["ShardId"]]
        kind = params["ShardIteratorType"]
        seqs = [r["dynamodb"]["SequenceNumber"] for r in shard.records]
        if kind == "TRIM_HORIZON":
            pos = next((i for i, s in enumerate(seqs) if int(s) >= shard.trimmed_before),
                       len(seqs))
        elif kind == "LATEST":
            pos = len(seqs)
        else:
            number = params["SequenceNumber"]
            if int(number) < shard.trimmed_before:
                raise TrimmedDataError("trimmed", code="TrimmedDataAccessException",
                                       operation="GetShardIterator", status=400)
            pos = seqs.index(number) + (1 if kind == "AFTER_SEQUENCE_NUMBER" else 0)
        return {"ShardIterator": f"{shard.shard_id}|{pos}|{len(self.calls)}"}

    def _GetRecords(self, params: dict[str, Any]) -> dict[str, Any]:
        iterator = params["ShardIterator"]
        if iterator in self.expire:
            self.expire.discard(iterator)
            raise ExpiredIteratorError("expired", code="ExpiredIteratorException",
                                       operation="GetRecords", status=400)
        shard_id, pos_text, _ = iterator.split("|")
        shard, pos = self.shards[shard_id], int(pos_text)
        got = shard.records[pos:pos + int(params["Limit"])]
        end = pos + len(got)
        answer: dict[str, Any] = {"Records": got}
        if not (shard.closed and end >= len(shard.records)):
            answer["NextShardIterator"] = f"{shard_id}|{end}|{len(self.calls)}"
        return answer

    # -- the lease table -----------------------------------------------------------------

    def lease(self, shard_id: str, group: str = "default") -> dict[str, Any] | None:
        return self.items.get((f"LEASE#{group}#{ARN}", f"SHARD#{shard_id}"))

    def _Query(self, params: dict[str, Any]) -> dict[str, Any]:
        pk = params["ExpressionAttributeValues"][":v0"]["S"]
        items = [dict(item) for (p, _), item in sorted(self.items.items()) if p == pk]
        return {"Items": items, "Count": len(items)}

    def _GetItem(self, params: dict[str, Any]) -> dict[str, Any]:
        key = params["Key"]
        item = self.items.get((key["PK"]["S"], key["SK"]["S"]))
        return {"Item": dict(item)} if item else {}

    def _PutItem(self, params: dict[str, Any]) -> dict[str, Any]:
        item = params["Item"]
        key = (item["PK"]["S"], item["SK"]["S"])
        stored = self.items.get(key)
        expected = int(item["version"]["N"]) - 1
        if (stored is None and expected != 0) or \
                (stored is not None and int(stored["version"]["N"]) != expected):
            raise ConditionalCheckFailedError(
                "The conditional request failed", code="ConditionalCheckFailedException",
                operation="PutItem", status=400,
                response={"Item": stored} if stored else {})
        self.items[key] = dict(item)
        return {}

    # -- running flows -------------------------------------------------------------------

    def clock(self) -> float:
        return self.now

    def drive(self, flow: Flow[R]) -> R:
        """Run ``flow`` against this fake: a driver with a fake clock (sleeps advance it)."""
        try:
            step = next(flow)
            while True:
                if isinstance(step, Request):
                    try:
                        answer = self(step.operation, step.params)
                    except DyntableError as exc:
                        step = flow.throw(exc)
                    else:
                        step = flow.send(answer)
                elif isinstance(step, Sleep):
                    self.sleeps.append(step.seconds)
                    self.now += step.seconds
                    step = flow.send(None)
                else:
                    assert isinstance(step, Emit)
                    step = flow.send(None)
        except StopIteration as stop:
            result: R = stop.value
            return result
