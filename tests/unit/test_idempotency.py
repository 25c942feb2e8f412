"""Idempotency without a server: the requests a call sends (MockTransport), how a failed
claim is read, key and payload hashing, result serializers, and the errors raised at
declaration and for bad input. Behaviour on a real server: tests/integration/."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from dyntable import Table
from dyntable.codec import codec_for
from dyntable.errors import DeclarationError, InvalidRequestError, service_error
from dyntable.idempotency import (
    WHOLE,
    Idempotency,
    IdempotencyInProgressError,
    IdempotencyInputError,
    IdempotencyKeyError,
    IdempotencyPayloadMismatchError,
    IdempotencyRecord,
    IdempotencyResultError,
    JsonSerializer,
    Status,
    TypedSerializer,
    idempotency_table,
)
from dyntable.transport.aio_mock import AsyncMockTransport
from dyntable.transport.mock import MockTransport

units = Table("unit-idem", ttl="expires_at")
NOW = datetime(2026, 6, 1, 8, tzinfo=timezone.utc)
NOW_MS = int(NOW.timestamp() * 1000)

Params = dict[str, Any]


class Store:
    """A one-table fake good enough to script claims: it keeps items by key and answers
    PutItem / UpdateItem / GetItem / DeleteItem, failing writes listed in ``refuse``. A
    conditional put (a claim) over a live record (completed, or in progress, at NOW) fails
    with the record, as DynamoDB's condition would."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.refuse: dict[str, Exception] = {}

    def __call__(self, operation: str, params: Params) -> dict[str, Any]:
        if operation in self.refuse:
            raise self.refuse.pop(operation)
        key = json.dumps(params.get("Key") or {k: params["Item"][k] for k in ("PK", "SK")},
                         sort_keys=True)
        if operation == "PutItem":
            old = self.items.get(key)
            if old and "ConditionExpression" in params and _live(old):
                raise service_error("ConditionalCheckFailedException", "failed",
                                    operation="PutItem", status=400, response={"Item": old})
            self.items[key] = params["Item"]
            return {}
        if operation == "GetItem":
            found = self.items.get(key)
            return {"Item": found} if found else {}
        if operation == "DeleteItem":
            self.items.pop(key, None)
            return {}
        if operation == "UpdateItem":  # SET a = :v, ... REMOVE b, ... as compiled
            item = dict(self.items[key])
            names, values = params["ExpressionAttributeNames"], params[
                "ExpressionAttributeValues"]
            sets, _, removes = params["UpdateExpression"].removeprefix("SET ").partition(
                " REMOVE ")
            for assignment in sets.split(", "):
                name, value = assignment.split(" = ")
                item[names[name]] = values[value]
            for name in filter(None, removes.split(", ")):
                item.pop(names[name], None)
            self.items[key] = item
            return {"Attributes": item}
        raise AssertionError(operation)


def _live(item: dict[str, Any]) -> bool:
    if int(item["expires_at"]["N"]) < NOW_MS // 1000:
        return False
    return item["status"]["S"] == "COMPLETED" or int(
        item["in_progress_expiration"]["N"]) >= NOW_MS


def store_for(**options: Any) -> tuple[Idempotency, MockTransport, Store]:
    fake = Store()
    transport = MockTransport(fake)
    idem = Idempotency(units.connect(transport=transport), clock=lambda: NOW, **options)
    return idem, transport, fake


def record(idem: Idempotency, **fields: Any) -> IdempotencyRecord:
    base: dict[str, Any] = {"scope": "s", "digest": "d", "status": "COMPLETED", "token": "t",
                            "expires_at": int(NOW.timestamp()) + 60, "data": '"stored"'}
    return idem.model(**{**base, **fields})


def refused_with(idem: Idempotency, stored: IdempotencyRecord | None) -> Exception:
    """The ConditionalCheckFailed answer of a claim (with the stored item, if given)."""
    response = {"Item": codec_for(idem.model).encode(stored)} if stored else None
    return service_error("ConditionalCheckFailedException", "The conditional request failed",
                         operation="PutItem", status=400, response=response)


def test_a_first_call_claims_with_one_put_and_completes_with_one_update() -> None:
    idem, transport, _ = store_for(expires_after=120, in_progress_timeout=30)
    runs: list[str] = []

    @idem.function(key="order_id", scope="orders")
    def place(order_id: str) -> dict[str, str]:
        runs.append(order_id)
        assert transport.operations() == ["PutItem"]  # claimed before the body runs
        return {"placed": order_id}

    assert place("o1") == {"placed": "o1"} and runs == ["o1"]
    put, update = transport.sent
    assert [put.operation, update.operation] == ["PutItem", "UpdateItem"]
    item = put.params["Item"]
    assert item["PK"]["S"].startswith("IDEMPOTENCY#orders#") and item["SK"]["S"] == "IDEMPOTENCY"
    assert item["status"] == {"S": "INPROGRESS"}
    assert item["in_progress_expiration"] == {"N": str(NOW_MS + 30_000)}
    assert item["expires_at"] == {"N": str(int(NOW.timestamp()) + 120)}
    assert item["_entity"] == {"S": "idempotency"}
    assert "payload_hash" in item  # every argument, by default
    condition = put.params["ConditionExpression"]
    assert "attribute_not_exists" in condition and " OR " in condition
    values = put.params["ExpressionAttributeValues"]
    assert {"N": str(NOW_MS)} in values.values()  # in-progress expiry compared in ms
    assert {"N": str(int(NOW.timestamp()))} in values.values()  # TTL compared in seconds
    # completion: only this claim's record (its token), result as JSON, claim expiry removed
    assert item["token"] in update.params["ExpressionAttributeValues"].values()
    assert {"S": '{"placed":"o1"}'} in update.params["ExpressionAttributeValues"].values()
    assert "REMOVE" in update.params["UpdateExpression"]


def test_a_completed_record_is_replayed_without_running_the_body() -> None:
    idem, transport, fake = store_for()
    fake.refuse["PutItem"] = refused_with(idem, record(idem, data='{"placed":"o1"}'))
    hooked: list[Any] = []

    def hook(result: Any, rec: IdempotencyRecord) -> Any:
        hooked.append(rec.status)
        return {**result, "replayed": True}

    @idem.function(key="order_id", response_hook=hook)
    def place(order_id: str) -> dict[str, Any]:
        raise AssertionError("the body must not run")

    assert place("o1") == {"placed": "o1", "replayed": True}
    assert transport.operations() == ["PutItem"]  # the failed claim returned the record
    assert hooked == ["COMPLETED"]


def test_an_in_progress_record_raises_with_its_expiry() -> None:
    idem, _, fake = store_for()
    running = record(idem, status="INPROGRESS", data=None,
                     in_progress_expiration=NOW_MS + 5_000)
    fake.refuse["PutItem"] = refused_with(idem, running)

    @idem.function(key="job")
    def work(job: str) -> None:
        raise AssertionError("the body must not run")

    with pytest.raises(IdempotencyInProgressError) as caught:
        work("j")
    assert caught.value.until == NOW + timedelta(seconds=5)
    assert caught.value.retryable and caught.value.scope is not None


def test_a_different_payload_raises_a_mismatch() -> None:
    idem, _, fake = store_for()
    fake.refuse["PutItem"] = refused_with(idem, record(idem, payload_hash="0" * 64))

    @idem.function(key="order.id")
    def place(order: dict[str, Any]) -> None:
        raise AssertionError("the body must not run")

    with pytest.raises(IdempotencyPayloadMismatchError) as caught:
        place({"id": "o1", "total": 3})
    assert caught.value.stored_hash == "0" * 64 and caught.value.payload_hash != "0" * 64


def test_without_the_item_in_the_answer_the_record_is_read() -> None:
    """A transport that does not return the stored item with a failed condition (DAX)."""
    idem, transport, fake = store_for()
    digest = idem.key_of("s", 5).fields["digest"]
    fake("PutItem", {"Item": codec_for(idem.model).encode(record(idem, digest=digest,
                                                                 data="7"))})
    fake.refuse["PutItem"] = refused_with(idem, None)

    @idem.function(key="n", scope="s")
    def work(n: int) -> int:
        raise AssertionError("the body must not run")

    assert work(5) == 7
    assert transport.operations() == ["PutItem", "GetItem"]
    assert transport.sent[1].params["ConsistentRead"] is True


def test_a_body_that_raises_deletes_its_claim_and_the_error_propagates() -> None:
    idem, transport, fake = store_for()

    @idem.function(key="job")
    def work(job: str) -> None:
        raise KeyError("boom")  # any exception, even one that looks like a missing key

    with pytest.raises(KeyError, match="boom"):
        work("j")
    assert transport.operations() == ["PutItem", "DeleteItem"]
    put, delete = transport.sent
    assert put.params["Item"]["token"] in delete.params["ExpressionAttributeValues"].values()
    assert fake.items == {}


def test_a_crash_leaves_the_claim_to_expire() -> None:
    idem, transport, _ = store_for()

    @idem.function(key="job")
    def work(job: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        work("j")
    assert transport.operations() == ["PutItem"]


def test_an_ambiguous_claim_is_settled_by_its_token() -> None:
    """The claim's first attempt was applied but its answer lost (a 500 after writing);
    the resend fails its condition; the stored token shows the record is this call's."""
    idem, transport, fake = store_for()
    real_put = fake.__call__

    attempts: list[int] = []

    def handler(operation: str, params: Params) -> dict[str, Any]:
        if operation == "PutItem":
            attempts.append(1)
            if len(attempts) == 1:
                real_put(operation, params)
                lost = service_error("InternalServerError", "lost", operation="PutItem",
                                     status=500)
                lost.maybe_applied = True
                raise lost
            raise service_error("ConditionalCheckFailedException", "failed",
                                operation="PutItem", status=400)
        return real_put(operation, params)

    transport.handler = handler
    runs: list[int] = []

    @idem.function(key="n")
    def work(n: int) -> int:
        runs.append(n)
        return n

    assert work(3) == 3 and runs == [3]
    assert transport.operations()[-2:] == ["GetItem", "UpdateItem"]


def test_a_missing_key_raises_before_anything_is_sent() -> None:
    idem, transport, _ = store_for()

    @idem.handler(key="body.orderId")
    def handler(event: dict[str, Any], context: Any) -> str:
        return "ran"

    with pytest.raises(IdempotencyKeyError, match=r"'body\.orderId' is absent") as caught:
        handler({"body": {"id": 1}}, None)
    assert isinstance(caught.value, InvalidRequestError)
    with pytest.raises(IdempotencyKeyError, match=r"'body\.orderId' is None"):
        handler({"body": {"orderId": None}}, None)
    assert transport.sent == []

    @idem.handler(key=lambda event: event["orderId"], key_required=False)
    def lenient(event: dict[str, Any], context: Any) -> str:
        return "ran"

    assert lenient({}, None) == "ran"  # no key: runs unprotected, sends nothing
    assert transport.sent == []


def test_unhashable_input_is_a_clear_error() -> None:
    idem, transport, _ = store_for()

    @idem.function
    def work(conn: object) -> None:
        raise AssertionError("the body must not run")

    with pytest.raises(IdempotencyInputError, match="cannot be hashed"):
        work(object())
    assert transport.sent == []


def test_the_local_cache_answers_retries_without_a_request() -> None:
    idem, transport, _ = store_for(use_local_cache=True, local_cache_max_items=1)
    runs: list[int] = []

    @idem.function(key="n")
    def work(n: int) -> int:
        runs.append(n)
        return n * 10

    assert work(1) == 10
    sent = len(transport.sent)
    assert work(1) == 10 and len(transport.sent) == sent and runs == [1]
    assert work(2) == 20  # evicts 1 (one item at most)
    assert idem.cache is not None and len(idem.cache) == 1


def test_a_lambda_context_sets_the_claim_time() -> None:
    idem, transport, _ = store_for(in_progress_timeout=300)

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 4_321

    @idem.function(key="x")
    def inner(x: str) -> str:
        return x

    @idem.handler(key="id")
    def handler(event: dict[str, Any], context: Any) -> str:
        return inner("nested")

    handler({"id": "1"}, Context())
    claims = [c.params["Item"] for c in transport.sent if c.operation == "PutItem"]
    # the handler's claim and the nested function's both hold for the remaining time
    assert [c["in_progress_expiration"]["N"] for c in claims] == [str(NOW_MS + 4_321)] * 2
    inner("outside")  # no handler around: the configured timeout
    last = [c for c in transport.sent if c.operation == "PutItem"][-1].params["Item"]
    assert last["in_progress_expiration"] == {"N": str(NOW_MS + 300_000)}


def test_a_result_that_does_not_survive_json_is_refused_and_not_stored() -> None:
    idem, transport, _ = store_for()

    @idem.function(key="n")
    def work(n):  # type: ignore[no-untyped-def]  # no annotation: plain JSON
        return (n, Decimal("1.5"))

    with pytest.raises(IdempotencyResultError, match="does not read back") as caught:
        work(1)
    assert caught.value.result == (1, Decimal("1.5"))
    assert transport.operations() == ["PutItem"]  # the claim stays until it expires


def test_run_and_run_async_take_the_key_at_hand() -> None:
    idem, transport, _ = store_for()
    assert idem.run("charges", "c-1", lambda: 5, payload={"amount": 5}) == 5
    assert transport.operations() == ["PutItem", "UpdateItem"]
    assert "payload_hash" in transport.sent[0].params["Item"]
    with pytest.raises(IdempotencyKeyError):
        idem.run("charges", None, lambda: 5)

    async def scenario() -> int:
        adb = await units.connect_async(transport=AsyncMockTransport(Store()))
        aidem = Idempotency(adb, clock=lambda: NOW)

        async def compute() -> int:
            return 6

        return await aidem.run_async("charges", "c-2", compute)

    assert asyncio.run(scenario()) == 6


def test_async_functions_run_over_the_async_client() -> None:
    async def scenario() -> None:
        fake = Store()
        transport = AsyncMockTransport(fake)
        adb = await units.connect_async(transport=transport)
        idem = Idempotency(adb, clock=lambda: NOW)

        @idem.function(key="n")
        async def work(n: int) -> list[int]:
            await asyncio.sleep(0)
            return [n]

        assert await work(1) == [1]
        assert transport.operations() == ["PutItem", "UpdateItem"]

        @idem.function(key="n")
        async def broken(n: int) -> None:
            raise ValueError("no")

        with pytest.raises(ValueError, match="no"):
            await broken(2)
        assert transport.operations()[-1] == "DeleteItem"

    asyncio.run(scenario())


def test_a_table_target_connects_on_first_use() -> None:
    fake = Store()

    class Lazy(Table):
        def connect(self, **options: Any) -> Any:
            return super().connect(transport=MockTransport(fake))

    lazy = Lazy("unit-idem-lazy", ttl="expires_at")
    idem = Idempotency(lazy, clock=lambda: NOW)

    @idem.function(key="n")
    def work(n: int) -> int:
        return n

    assert work(4) == 4 and len(fake.items) == 1


# -- declarations ------------------------------------------------------------------------


def test_declaration_errors_name_the_problem() -> None:
    idem, _, _ = store_for()

    async def coro(n: int) -> int:
        return n

    with pytest.raises(DeclarationError, match="async function: give Idempotency an "
                                               "AsyncClient"):
        idem.function(coro)
    with pytest.raises(DeclarationError, match="without '#'"):
        idem.function(scope="a#b")(lambda n: n)
    with pytest.raises(DeclarationError, match="unknown idempotency options"):
        idem.function(keys="n")(lambda n: n)
    with pytest.raises(DeclarationError, match="has no parameter 'order'"):
        idem.function(key="order.id")(lambda n: n)
    with pytest.raises(DeclarationError, match="on_in_progress"):
        Idempotency(units.connect(transport=MockTransport()), on_in_progress="block")  # type: ignore[arg-type]
    with pytest.raises(DeclarationError, match="expires_after"):
        Idempotency(units.connect(transport=MockTransport()), expires_after=0)
    with pytest.raises(DeclarationError, match="hash_function"):
        Idempotency(units.connect(transport=MockTransport()), hash_function="nope")
    with pytest.raises(DeclarationError, match="a Client, an AsyncClient or a Table"):
        Idempotency(object())  # type: ignore[arg-type]


def test_sync_functions_need_a_sync_client() -> None:
    async def scenario() -> None:
        adb = await units.connect_async(transport=AsyncMockTransport())
        idem = Idempotency(adb)
        with pytest.raises(DeclarationError, match="sync function: give Idempotency a Client"):
            idem.function(lambda n: n)

    asyncio.run(scenario())


def test_the_table_must_declare_ttl_and_the_entity_be_free() -> None:
    with pytest.raises(DeclarationError, match="declares no TTL attribute"):
        Idempotency(Table("unit-idem-nottl").connect(transport=MockTransport()))
    taken = Table("unit-idem-taken", ttl="expires_at")
    Idempotency(taken.connect(transport=MockTransport()))
    again = Idempotency(taken.connect(transport=MockTransport()))  # reuses the model
    assert again.model is Idempotency(taken.connect(transport=MockTransport())).model
    with pytest.raises(DeclarationError, match="use key prefix 'IDEMPOTENCY'"):
        Idempotency(taken.connect(transport=MockTransport()), prefix="OTHER")
    with pytest.raises(DeclarationError, match="named like a field"):
        Idempotency(Table("unit-idem-clash", ttl="status").connect(transport=MockTransport()))
    table = idempotency_table("unit-idem-dedicated")
    assert (table.pk, table.sk, table.ttl) == ("PK", None, "expiration")


# -- hashing and serializers -------------------------------------------------------------


def test_equal_inputs_hash_equal_whatever_their_form() -> None:
    idem, _, _ = store_for()

    class M(BaseModel):
        a: int
        b: list[str]

    @dataclass
    class D:
        a: int
        b: list[str]

    def digest(value: Any) -> str:
        return str(idem.key_of("s", value).fields["digest"])

    assert digest({"a": 1, "b": ["x"]}) == digest({"b": ["x"], "a": 1}) == \
        digest(M(a=1, b=["x"])) == digest(D(a=1, b=["x"]))
    assert digest(Decimal("1.50")) == digest(Decimal("1.5"))
    assert digest({"x", "y"}) == digest({"y", "x"})
    assert digest(1) != digest("1") != digest(True)
    assert digest(datetime(2026, 1, 1, tzinfo=timezone.utc)) == digest(
        "2026-01-01T00:00:00+00:00")


def test_serializers_round_trip_or_refuse() -> None:
    plain = JsonSerializer()
    assert plain.loads(plain.dumps({"a": [1, 2.5, None, True]})) == {"a": [1, 2.5, None, True]}
    for bad in ((1, 2), {1: "a"}, Decimal(1), float("nan")):
        with pytest.raises(ValueError):
            plain.dumps(bad)

    class Out(BaseModel):
        total: Decimal
        at: datetime

    typed = TypedSerializer(Out)
    value = Out(total=Decimal("9.90"), at=NOW)
    assert typed.loads(typed.dumps(value)) == value
    pairs = TypedSerializer(tuple[int, int])
    assert pairs.loads(pairs.dumps((1, 2))) == (1, 2)


class Counted(BaseModel):
    n: int


def test_the_return_annotation_picks_the_serializer() -> None:
    idem, transport, _ = store_for()

    @idem.function(key="n")
    def typed(n: int) -> Counted:
        return Counted(n=n)

    assert typed(3) == Counted(n=3)
    assert {"S": '{"n":3}'} in transport.sent[-1].params["ExpressionAttributeValues"].values()
    assert typed(3) == Counted(n=3)  # replayed as the model, not a dict
    assert transport.operations() == ["PutItem", "UpdateItem", "PutItem"]

    class Local(BaseModel):
        n: int

    def unresolved(n: int) -> Local:
        return Local(n=n)

    with pytest.raises(DeclarationError, match="pass result_type="):
        idem.function(unresolved)
    assert idem.function(result_type=Local)(unresolved)(4) == Local(n=4)

    class Upper:
        def dumps(self, value: Any) -> str:
            return str(value).upper()

        def loads(self, text: str) -> Any:
            return text.lower()

    custom: Callable[[str], str] = idem.function(key="s", serializer=Upper())(lambda s: s)
    assert custom("abc") == "abc"
    with pytest.raises(DeclarationError, match="not both"):
        idem.function(result_type=int, serializer=Upper())(lambda s: s)


def test_states_follow_the_clock() -> None:
    idem, _, _ = store_for()
    rec = record(idem, status="INPROGRESS", in_progress_expiration=NOW_MS + 10)
    assert rec.state(NOW_MS) is Status.IN_PROGRESS
    assert rec.state(NOW_MS + 11) is Status.EXPIRED
    done = record(idem)
    assert done.state(NOW_MS) is Status.COMPLETED
    assert done.state(NOW_MS + 60_000) is Status.COMPLETED  # at its expiry second
    assert done.state(NOW_MS + 61_000) is Status.EXPIRED
    assert WHOLE is not None


def test_a_claim_longer_than_the_expiry_window_is_not_cut_short() -> None:
    idem, transport, _ = store_for(expires_after=10, in_progress_timeout=100)

    @idem.function(key="n")
    def work(n: int) -> int:
        return n

    work(1)
    claim = transport.sent[0].params["Item"]
    assert claim["expires_at"] == {"N": str(int(NOW.timestamp()) + 100)}
    rec = codec_for(idem.model).decode(claim)
    assert rec.state(NOW_MS + 99_000) is Status.IN_PROGRESS
    assert rec.state(NOW_MS + 100_001) is Status.EXPIRED
    done = transport.sent[1].params["ExpressionAttributeValues"]
    assert {"N": str(int(NOW.timestamp()) + 10)} in done.values()  # completed: 10 s
