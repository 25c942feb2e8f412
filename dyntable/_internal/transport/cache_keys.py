"""How :class:`~dyntable.transport.cache.CachedTransport` names and copies what it holds.

Canonical JSON keys of requests, hashable identities of primary keys and projections,
deep copies of cached answers, and what a write request writes (its items and keys) or a
query reads (the partitions its key condition names).
"""

from __future__ import annotations

import json
import re
from base64 import b64encode
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from dyntable.transport.base import Params, Response

__all__ = [
    "NO_PROJECTION",
    "EntryKey",
    "ItemKey",
    "Tag",
    "batch_writes",
    "canonical",
    "copy_av",
    "copy_data",
    "copy_item_response",
    "is_select",
    "key_id",
    "key_of",
    "new_item",
    "projection_of",
    "query_tags",
    "strip_response",
    "transact_writes",
]

NO_PROJECTION = ""
_PROJECTION_PARAMS = ("ProjectionExpression", "ExpressionAttributeNames", "AttributesToGet")
_DROPPED = ("ConsumedCapacity", "ResponseMetadata")
_EQUALITY = re.compile(r"(#?[A-Za-z_][\w]*)\s*=\s*(:\w+)|(:\w+)\s*=\s*(#?[A-Za-z_][\w]*)")

ItemKey = tuple[str, Any]  # (table, key identity)
EntryKey = tuple[str, Any, str]  # (table, key identity, projection)
Tag = tuple[str, str, str]  # (table, attribute, canonical value) of a query's key condition


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b64": b64encode(bytes(value)).decode()}
    if isinstance(value, (set, frozenset)):
        return sorted(canonical(v) for v in value)
    raise TypeError(f"cannot cache a request holding {type(value).__name__}")


def canonical(value: Any) -> str:
    """Canonical JSON text of a request part (dict order ignored, bytes as base64)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def copy_data(value: Any) -> Any:
    """A deep copy of plain response data (dicts and lists; leaves are immutable)."""
    if isinstance(value, dict):
        return {k: copy_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_data(v) for v in value]
    return value


def copy_av(value: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of one AttributeValue (faster than :func:`copy_data` for the common types)."""
    for tag, v in value.items():
        if tag == "M":
            return {"M": {k: copy_av(x) for k, x in v.items()}}
        if tag == "L":
            return {"L": [copy_av(x) for x in v]}
        return {tag: list(v) if type(v) is list else v}
    return {}


def copy_item_response(value: Mapping[str, Any]) -> Response:
    """A copy of a cached item-cache entry (``{"Item": item}`` or ``{}``)."""
    item = value.get("Item")
    if not item:
        return {}
    copied = {}
    for name, av in item.items():  # strings and numbers (most values): a flat copy will do
        copied[name] = {**av} if "S" in av or "N" in av else copy_av(av)
    return {"Item": copied}


def key_id(key: Mapping[str, Any]) -> Any:
    """A hashable, order-independent identity of a primary key."""
    try:
        parts = [(name, *av.items()) for name, av in key.items()]
        parts.sort()
        return tuple(parts)
    except TypeError:  # unhashable or unorderable values: fall back to canonical text
        return canonical(key)


def projection_of(spec: Mapping[str, Any]) -> str:
    """The canonical projection of a read (``NO_PROJECTION`` for whole items)."""
    parts = {k: spec[k] for k in _PROJECTION_PARAMS if k in spec}
    return canonical(parts) if parts else NO_PROJECTION


def strip_response(response: Response) -> Response:
    """A copy of an answer without its capacity and metadata (what a cache stores)."""
    return {k: copy_data(v) for k, v in response.items() if k not in _DROPPED}


def is_select(statement: Any) -> bool:
    """True for a PartiQL ``SELECT`` (a read)."""
    return isinstance(statement, str) and statement.lstrip()[:6].upper() == "SELECT"


def new_item(operation: str, params: Params, response: Response) -> dict[str, Any] | None:
    """The full item after a single-item write: ``{}`` when deleted, ``None`` when unknown."""
    if operation == "PutItem":
        item: dict[str, Any] = params["Item"]
        return item
    if operation == "DeleteItem":
        return {}
    if params.get("ReturnValues") == "ALL_NEW" and response.get("Attributes"):
        attrs: dict[str, Any] = response["Attributes"]
        return attrs
    return None


def key_of(item: Mapping[str, Any], attrs: frozenset[str] | None) -> dict[str, Any] | None:
    """The primary key of ``item`` when its key attributes are known and present."""
    if not attrs or not all(a in item for a in attrs):
        return None
    return {a: item[a] for a in attrs}


def batch_writes(
    request: Mapping[str, Any], key_attrs: dict[str, frozenset[str]]
) -> Iterator[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]:
    """``(table, key, new item or None when deleted)`` per BatchWriteItem request."""
    for table, actions in request.items():
        for action in actions:
            if "DeleteRequest" in action:
                key = action["DeleteRequest"]["Key"]
                key_attrs.setdefault(table, frozenset(key))
                yield table, key, None
            elif "PutRequest" in action:
                item = action["PutRequest"]["Item"]
                yield table, key_of(item, key_attrs.get(table)), item


def transact_writes(
    actions: Iterable[Mapping[str, Any]], key_attrs: dict[str, frozenset[str]]
) -> Iterator[tuple[str, dict[str, Any] | None, dict[str, Any] | None, str]]:
    """``(table, key, new item, action)`` per TransactWriteItems action."""
    for action in actions:
        for kind, spec in action.items():
            table = spec.get("TableName")
            if not isinstance(table, str):
                continue
            if kind == "Put":
                item = spec["Item"]
                yield table, key_of(item, key_attrs.get(table)), item, kind
            else:
                key = spec.get("Key")
                if key:
                    key_attrs.setdefault(table, frozenset(key))
                yield table, key, None, kind


def query_tags(operation: str, table: str, params: Params) -> list[Tag]:
    """The (table, attribute, value) equalities of a Query's key condition; a Scan's table."""
    if operation == "Scan":
        return [(table, "", "")]
    tags: list[Tag] = []
    names = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    for match in _EQUALITY.finditer(params.get("KeyConditionExpression") or ""):
        name, value = (match.group(1), match.group(2)) if match.group(1) else (
            match.group(4), match.group(3))
        if value in values:
            tags.append((table, str(names.get(name, name)), canonical(values[value])))
    for name, cond in (params.get("KeyConditions") or {}).items():
        if cond.get("ComparisonOperator") == "EQ" and cond.get("AttributeValueList"):
            tags.append((table, name, canonical(cond["AttributeValueList"][0])))
    return tags or [(table, "", "")]
