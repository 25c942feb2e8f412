"""Normalising raw records from Lambda JSON and from boto3's GetRecords."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from dyntable.streams.records import StreamRecordError, parse_record, sequence_key
from tests.models import Customer
from tests.unit.streams.lambda_events import record

ADA = Customer(username="ada", email="ada@x.io", name="Ada")
SEQ = "400000000000000000001234"


def test_lambda_shape_is_normalised() -> None:
    rec = parse_record(record("INSERT", SEQ, new=ADA))
    assert rec.event_name == "INSERT"
    assert rec.sequence_number == SEQ
    assert rec.keys == {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "CUSTOMER#ada"}}
    assert rec.new_image is not None and rec.new_image["email"] == {"S": "ada@x.io"}
    assert rec.old_image is None
    assert rec.created_at == datetime.fromtimestamp(1795737600, tz=timezone.utc)
    assert rec.view_type == "NEW_AND_OLD_IMAGES"
    assert rec.source_arn is not None and rec.source_arn.startswith("arn:aws:dynamodb")
    assert not rec.is_ttl_expiry


def test_ttl_expiry_in_lambda_and_boto3_shapes() -> None:
    lam = parse_record(record("REMOVE", SEQ, old=ADA, ttl=True))
    assert lam.is_ttl_expiry
    raw: dict[str, Any] = record("REMOVE", SEQ, old=ADA)
    raw["userIdentity"] = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    raw["dynamodb"]["ApproximateCreationDateTime"] = datetime(2026, 11, 26, tzinfo=timezone.utc)
    boto = parse_record(raw)
    assert boto.is_ttl_expiry
    assert boto.created_at == datetime(2026, 11, 26, tzinfo=timezone.utc)


def test_a_user_delete_is_not_an_expiry() -> None:
    raw = record("REMOVE", SEQ, old=ADA)
    raw["userIdentity"] = {"type": "Service", "principalId": "someone.else"}
    assert not parse_record(raw).is_ttl_expiry


@pytest.mark.parametrize("breakage", ["no-body", "no-seq", "bad-seq", "no-keys", "source",
                                      "bad-image"])
def test_malformed_records_are_refused(breakage: str) -> None:
    raw: dict[str, Any] = record("INSERT", SEQ, new=ADA)
    body = raw["dynamodb"]
    if breakage == "no-body":
        del raw["dynamodb"]
    elif breakage == "no-seq":
        del body["SequenceNumber"]
    elif breakage == "bad-seq":
        body["SequenceNumber"] = "12ab"
    elif breakage == "no-keys":
        del body["Keys"]
    elif breakage == "source":
        raw["eventSource"] = "aws:kinesis"
    else:
        body["NewImage"] = {"email": "not an attribute value"}
    with pytest.raises(StreamRecordError) as info:
        parse_record(raw)
    assert "event-" + SEQ in str(info.value)


def test_sequence_numbers_compare_as_numbers() -> None:
    short, long = "9" * 21, "1" + "0" * 22
    assert short > long  # as strings: wrong order
    assert sequence_key(short) < sequence_key(long)
    with pytest.raises(ValueError):
        sequence_key("LATEST")
