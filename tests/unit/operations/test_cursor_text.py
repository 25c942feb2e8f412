"""Cursors that are not dyntable's ASCII text are refused with CursorError, never TypeError."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from dyntable._internal.operations.cursors import decode_cursor, encode_cursor, fingerprint
from dyntable.errors import CursorError

SECRET = b"s3cret"
ATTRS = ("PK", "SK")


@pytest.mark.parametrize("suffix", ["é", "\u00a0", "\ud800", "日本"])
def test_non_ascii_characters_in_a_cursor_are_a_cursor_error(suffix: str) -> None:
    q = fingerprint(["Query"])
    cursor = encode_cursor({"PK": {"S": "a"}}, q, SECRET)
    for bad in (cursor + suffix, suffix + cursor, cursor.replace(".", "." + suffix)):
        with pytest.raises(CursorError, match="malformed cursor"):
            decode_cursor(bad, q, SECRET, ATTRS)


def _signed(payload: bytes) -> str:
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{hmac.new(SECRET, payload, hashlib.sha256).hexdigest()[:24]}"


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 100_000 + b"]" * 100_000,  # nested past the JSON parser's recursion limit
        json.dumps({"v": 1, "q": "Q", "k": {"PK": {"B": {"$b": "not base64!"}}}}).encode(),
        b"\xff\xfe not utf-8",
    ],
)
def test_well_signed_but_broken_payloads_are_a_cursor_error(payload: bytes) -> None:
    # with the per-table default secret a client can sign what it likes: still typed errors
    with pytest.raises(CursorError, match="malformed cursor"):
        decode_cursor(_signed(payload), "Q", SECRET, ATTRS)
