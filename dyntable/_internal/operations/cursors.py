"""Opaque, URL-safe pagination cursors that round-trip ``LastEvaluatedKey`` exactly.

A cursor is base64url JSON of the key plus a fingerprint of the query it came from,
signed with HMAC-SHA256. A cursor that was altered, or that belongs to another query, is
refused with :class:`~dyntable.errors.CursorError`. Pass ``cursor_secret=`` to the client
to make cursors unforgeable by clients; without it a per-table default secret only detects
corruption and misuse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

from dyntable.errors import CursorError

__all__ = ["decode_cursor", "encode_cursor", "fingerprint"]

_VERSION = 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"$b": base64.b64encode(value).decode()}
    return value


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$b"}:
            return base64.b64decode(value["$b"])
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def fingerprint(parts: Iterable[Any]) -> str:
    """A short digest of what identifies a query (table, index, conditions, order...)."""
    text = json.dumps(_jsonable(list(parts)), sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _mac(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()[:24]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def encode_cursor(key: dict[str, Any], query: str, secret: bytes) -> str:
    """The cursor for ``key`` (a LastEvaluatedKey) of the query with fingerprint ``query``."""
    payload = json.dumps(
        {"v": _VERSION, "q": query, "k": _jsonable(key)}, separators=(",", ":"), sort_keys=True
    ).encode()
    return f"{_b64(payload)}.{_mac(secret, payload)}"


def decode_cursor(
    cursor: str, query: str, secret: bytes, key_attrs: Iterable[str]
) -> dict[str, Any]:
    """The LastEvaluatedKey inside ``cursor``; CursorError when it is not this query's."""
    if (not isinstance(cursor, str) or not cursor or cursor.count(".") != 1
            or not cursor.isascii()):
        # dyntable's cursors are ASCII; other text cannot even be compared in constant time
        raise CursorError("malformed cursor (not produced by dyntable, or truncated)")
    body, mac = cursor.split(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise CursorError("malformed cursor (not produced by dyntable, or truncated)") from None
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise CursorError("cursor signature mismatch: the cursor was altered or made with "
                          "another secret")
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        raise CursorError("malformed cursor payload") from None
    if not isinstance(data, dict) or data.get("v") != _VERSION:
        raise CursorError("cursor from an incompatible dyntable version")
    if data.get("q") != query:
        raise CursorError("this cursor belongs to another query (different table, index, "
                          "key condition, filter or order)")
    try:
        key = _restore(data.get("k"))
    except (binascii.Error, TypeError, ValueError):
        raise CursorError("malformed cursor payload") from None
    if not isinstance(key, dict) or not key or not set(key) <= set(key_attrs):
        raise CursorError("cursor key does not match this query's key attributes")
    return key
