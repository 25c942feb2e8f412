"""Records whose ``eventName`` is missing or unknown fail; they never reach ``on_remove``.

The events are shaped as AWS documents them for Lambda (see ``lambda_events.record``); a
``KEYS_ONLY`` record carries no image, so nothing else tells what happened to the item.
"""

from __future__ import annotations

from typing import Any

import pytest

from dyntable.streams import Router, StreamEvent, StreamRecordError
from dyntable.streams.records import LOCAL_TTL_EVENT_NAME, parse_record
from tests.models import Customer, shop
from tests.unit.streams.lambda_events import batch, record

ADA = Customer(username="ada", email="ada@x.io", name="Ada")
BASE = 500000000000000000000000


def seq(i: int) -> str:
    return str(BASE + i)


def without_name(rec: dict[str, Any]) -> dict[str, Any]:
    del rec["eventName"]
    return rec


class Removals:
    """A router whose every handler records the event kind it saw."""

    def __init__(self) -> None:
        self.router = Router(shop)
        self.seen: list[tuple[str, str]] = []

        @self.router.on_remove(Customer)
        def removed(event: StreamEvent[Customer]) -> None:
            self.seen.append(("remove", event.sequence_number))

        @self.router.on_any()
        def any_event(event: StreamEvent[Any]) -> None:
            self.seen.append((f"any:{event.kind}", event.sequence_number))

        @self.router.on_unknown
        def unknown(event: StreamEvent[Any]) -> None:
            self.seen.append(("unknown", event.sequence_number))


BAD_NAMES: list[Any] = [None, "", "DELETE", "insert", "Remove", "UNKNOWN", 7]


def bad_record(name: Any, view: str, i: int = 1) -> dict[str, Any]:
    if name is None:
        return without_name(record("REMOVE", seq(i), keys_of=ADA, view=view))
    return record(name, seq(i), keys_of=ADA, old=ADA, new=ADA, view=view)


@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_AND_OLD_IMAGES", "OLD_IMAGE"])
@pytest.mark.parametrize("name", BAD_NAMES)
def test_missing_or_unknown_event_name_is_refused(name: Any, view: str) -> None:
    raw = bad_record(name, view)
    with pytest.raises(StreamRecordError, match="eventName") as caught:
        parse_record(raw)
    assert caught.value.sequence_number == seq(1)
    assert caught.value.event_id == f"event-{seq(1)}"


@pytest.mark.parametrize("name", [None, "GARBAGE"])
def test_router_does_not_send_it_to_on_remove(name: Any) -> None:
    log = Removals()
    with pytest.raises(StreamRecordError):
        log.router.handle(bad_record(name, "KEYS_ONLY"))
    assert log.seen == []


@pytest.mark.parametrize("name", [None, "GARBAGE"])
def test_lambda_reports_it_and_every_later_record(name: Any) -> None:
    log = Removals()
    event = batch(
        record("INSERT", seq(1), new=ADA, view="KEYS_ONLY"),
        bad_record(name, "KEYS_ONLY", 2),
        record("REMOVE", seq(3), old=ADA, view="KEYS_ONLY"),
    )
    result = log.router.lambda_handler(event)
    assert result == {"batchItemFailures": [{"itemIdentifier": seq(2)},
                                            {"itemIdentifier": seq(3)}]}
    assert log.seen == [("any:insert", seq(1))]


@pytest.mark.parametrize("name", ["INSERT", "MODIFY", "REMOVE"])
def test_documented_names_are_kept(name: str) -> None:
    rec = parse_record(record(name, seq(1), keys_of=ADA, view="KEYS_ONLY"))
    assert rec.event_name == rec.raw_event_name == name


@pytest.mark.parametrize("view", ["KEYS_ONLY", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
def test_dynamodb_local_ttl_deletion_is_a_removal(view: str) -> None:
    """DynamoDB Local names its TTL deletions UNKNOWN_TO_SDK_VERSION (checked on 3.3.1)."""
    raw = record(LOCAL_TTL_EVENT_NAME, seq(1), keys_of=ADA, old=ADA, view=view)
    rec = parse_record(raw)
    assert rec.event_name == "REMOVE"
    assert rec.raw_event_name == LOCAL_TTL_EVENT_NAME
    log = Removals()
    log.router.handle(raw)
    assert log.seen == [("remove", seq(1)), ("any:remove", seq(1))]


def test_dynamodb_local_name_with_a_new_image_is_refused() -> None:
    raw = record(LOCAL_TTL_EVENT_NAME, seq(1), new=ADA, view="NEW_IMAGE")
    with pytest.raises(StreamRecordError, match="UNKNOWN_TO_SDK_VERSION"):
        parse_record(raw)
