"""Router registration and dispatch, and the Lambda batch entry point."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from dyntable import Key, Model, Table
from dyntable.errors import DeclarationError
from dyntable.streams import Router, StreamEvent, StreamRecordError
from tests.models import Customer, Order, shop
from tests.unit.streams.lambda_events import batch, record

ADA = Customer(username="ada", email="ada@x.io", name="Ada")
ORDER = Order(username="ada", order_id="o-1", status="PLACED",
              placed_at=datetime(2026, 11, 2, tzinfo=timezone.utc), total=Decimal("3"))
SHIPPED = ORDER.model_copy(update={"status": "SHIPPED"})
BASE = 300000000000000000000000


def seq(i: int) -> str:
    return str(BASE + i)


class Recorder:
    """Routes every kind of event of the shop models into ``calls``."""

    def __init__(self) -> None:
        self.router = Router(shop)
        self.calls: list[tuple[str, str, Any]] = []
        r = self.router

        @r.on_insert(Customer)
        def welcome(event: StreamEvent[Customer]) -> None:
            self.calls.append(("insert", event.sequence_number, event.new.email))

        @r.on_modify(Order)
        def status(event: StreamEvent[Order]) -> None:
            if event.changed("status"):
                self.calls.append(("status", event.sequence_number,
                                   (event.old.status, event.new.status)))

        @r.on_remove(Order)
        def removed(event: StreamEvent[Order]) -> None:
            self.calls.append(("remove", event.sequence_number, event.expired))

        @r.on_expire(Order)
        def expired(event: StreamEvent[Order]) -> None:
            self.calls.append(("expire", event.sequence_number, event.old.order_id))

        @r.on_unknown
        def unknown(event: StreamEvent[Any]) -> None:
            self.calls.append(("unknown", event.sequence_number, event.entity))


def test_every_event_name_reaches_its_handlers() -> None:
    rec = Recorder()
    unknown_image = {"PK": {"S": "X#1"}, "SK": {"S": "X#1"}, "_entity": {"S": "invoice"}}
    event = batch(
        record("INSERT", seq(1), new=ADA),
        record("MODIFY", seq(2), new=SHIPPED, old=ORDER),
        record("MODIFY", seq(3), new=ORDER, old=ORDER),
        record("REMOVE", seq(4), old=ORDER),
        record("REMOVE", seq(5), old=ORDER, ttl=True),
        record("INSERT", seq(6), keys={"PK": {"S": "X#1"}, "SK": {"S": "X#1"}},
               new=unknown_image),
    )
    assert rec.router.lambda_handler(event, None) == {"batchItemFailures": []}
    assert rec.calls == [
        ("insert", seq(1), "ada@x.io"),
        ("status", seq(2), ("PLACED", "SHIPPED")),
        ("remove", seq(4), False),
        ("remove", seq(5), True),
        ("expire", seq(5), "o-1"),
        ("unknown", seq(6), "invoice"),
    ]


def test_poison_record_reports_itself_and_every_later_record() -> None:
    rec = Recorder()
    poison = record("INSERT", seq(2), new=ADA)
    poison["dynamodb"]["NewImage"]["tier"] = {"S": "platinum"}
    event = batch(record("INSERT", seq(1), new=ADA), poison,
                  record("INSERT", seq(3), new=ADA), record("REMOVE", seq(4), old=ORDER))
    result = rec.router.lambda_handler(event, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": seq(i)} for i in (2, 3, 4)]}
    assert [c[1] for c in rec.calls] == [seq(1)]


def test_handler_error_fails_from_that_record(caplog: pytest.LogCaptureFixture) -> None:
    router = Router(shop)
    seen: list[str] = []

    @router.on_insert(Customer)
    def fussy(event: StreamEvent[Customer]) -> None:
        if event.new.name == "Bob":
            raise RuntimeError("mail server down")
        seen.append(event.sequence_number)

    bob = Customer(username="bob", email="secret-bob@x.io", name="Bob")
    with caplog.at_level(logging.DEBUG, logger="dyntable.streams"):
        result = router.lambda_handler(batch(record("INSERT", seq(1), new=ADA),
                                             record("INSERT", seq(2), new=bob)), None)
    assert result == {"batchItemFailures": [{"itemIdentifier": seq(2)}]}
    assert seen == [seq(1)]
    assert seq(2) in caplog.text and "RuntimeError" in caplog.text
    assert "secret-bob" not in caplog.text and "CUSTOMER#" not in caplog.text


def test_failing_record_without_sequence_number_fails_the_whole_batch() -> None:
    broken = record("INSERT", seq(2), new=ADA)
    del broken["dynamodb"]["SequenceNumber"]
    with pytest.raises(StreamRecordError):
        Router(shop).lambda_handler(batch(record("INSERT", seq(1), new=ADA), broken), None)
    with pytest.raises(StreamRecordError):
        Router(shop).lambda_handler({"not": "a stream event"}, None)


def test_unknown_records_without_handler_are_skipped() -> None:
    router = Router(shop)
    keys = {"PK": {"S": "X#1"}, "SK": {"S": "X#1"}}
    event = batch(record("INSERT", seq(1), keys=keys, view="KEYS_ONLY"))
    assert router.lambda_handler(event, None) == {"batchItemFailures": []}


def test_on_any_with_and_without_model() -> None:
    router = Router(shop)
    per_model: list[str] = []
    everything: list[str] = []
    router.on_any(Order)(lambda e: per_model.append(e.kind))
    router.on_any()(lambda e: everything.append(e.kind))
    router.lambda_handler(batch(record("INSERT", seq(1), new=ORDER),
                                record("MODIFY", seq(2), new=SHIPPED, old=ORDER),
                                record("INSERT", seq(3), new=ADA)), None)
    assert per_model == ["insert", "modify"]
    assert everything == ["insert", "modify", "insert"]


def test_models_of_another_table_are_refused() -> None:
    other = Table("other_streams", pk="PK", sk="SK")

    class Stranger(Model, table=other, entity="stranger"):
        x: str
        primary = Key(pk="S#{x}", sk="S")

    with pytest.raises(DeclarationError, match="not a model of table 'shop'"):
        Router(shop).on_insert(Stranger)
