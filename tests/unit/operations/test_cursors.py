"""Pagination cursors: exact round trip, tampering and misuse refused."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dyntable._internal.operations.cursors import decode_cursor, encode_cursor, fingerprint
from dyntable.errors import CursorError

SECRET = b"s3cret"
ATTRS = ("PK", "SK", "GSI1PK", "GSI1SK")
_av = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(min_size=1)),
    st.builds(lambda n: {"N": str(n)}, st.integers()),
    st.builds(lambda b: {"B": b}, st.binary(min_size=1)),
)


@settings(deadline=None)
@given(key=st.dictionaries(st.sampled_from(ATTRS), _av, min_size=1))
def test_round_trip_is_exact(key: dict[str, dict[str, object]]) -> None:
    q = fingerprint(["Query", {"TableName": "t"}])
    cursor = encode_cursor(key, q, SECRET)
    assert cursor.isascii() and "/" not in cursor and "+" not in cursor
    assert decode_cursor(cursor, q, SECRET, ATTRS) == key


def test_tampered_cursor_is_refused() -> None:
    q = fingerprint(["Query"])
    cursor = encode_cursor({"PK": {"S": "a"}}, q, SECRET)
    body, mac = cursor.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["k"]["PK"]["S"] = "b"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    with pytest.raises(CursorError, match="signature mismatch"):
        decode_cursor(f"{forged}.{mac}", q, SECRET, ATTRS)
    with pytest.raises(CursorError, match="signature mismatch"):
        decode_cursor(cursor, q, b"other secret", ATTRS)


def test_cursor_of_another_query_is_refused() -> None:
    cursor = encode_cursor({"PK": {"S": "a"}}, fingerprint(["Query", 1]), SECRET)
    with pytest.raises(CursorError, match="belongs to another query"):
        decode_cursor(cursor, fingerprint(["Query", 2]), SECRET, ATTRS)


@pytest.mark.parametrize("garbage", ["", "nonsense", "a.b.c", "!!!.abc", "e30.0000"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(CursorError):
        decode_cursor(garbage, "q", SECRET, ATTRS)


def test_key_attributes_must_belong_to_the_query() -> None:
    cursor = encode_cursor({"OTHER": {"S": "a"}}, "q", SECRET)
    with pytest.raises(CursorError, match="does not match this query's key attributes"):
        decode_cursor(cursor, "q", SECRET, ATTRS)


def test_cursor_survives_time_with_hide_expired() -> None:
    from unittest import mock

    from dyntable.transport.mock import MockTransport
    from tests.models import Order, shop

    page = {"Items": [], "LastEvaluatedKey": {"PK": {"S": "x"}, "SK": {"S": "y"}}}
    db = shop.connect(transport=MockTransport(lambda op, params: page), cursor_secret=SECRET,
                      hide_expired=True)
    q = db.query(Order.primary, username="ada")
    with mock.patch("time.time", return_value=1_000.0):
        cursor = q.page().cursor
    assert cursor is not None
    with mock.patch("time.time", return_value=9_000.0):
        assert q.page(cursor).cursor is not None
