"""Sample items for a design: model examples, fixture files, a live table, placeholders.

Model examples follow pydantic's own convention, so they also show in the model's JSON
schema::

    class Customer(Model, table=shop, entity="customer"):
        model_config = ConfigDict(json_schema_extra={"examples": [
            {"username": "ada", "email": "ada@example.com", "name": "Ada"},
        ]})

A fixture file (JSON, or YAML with PyYAML) maps entity names (or model class names) to
lists of field values, or is a list of items in DynamoDB JSON (``{"PK": {"S": ...}}``),
e.g. a Workbench ``TableData`` or a Scan's ``Items``.
"""

from __future__ import annotations

import enum
import json
import typing
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dyntable._internal.codec.fields import field_kind
from dyntable._internal.codec.items import codec_for
from dyntable.errors import DeclarationError, InvalidRequestError

if TYPE_CHECKING:
    from dyntable.client import Client
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["encode", "load_fixture", "model_examples", "placeholder", "scan_sample"]

Item = dict[str, Any]
M = TypeVar("M", bound="Model")


def model_examples(model: type[Model]) -> list[Model]:
    """The model's ``model_config["json_schema_extra"]["examples"]``, validated."""
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, Mapping) else None
    if not isinstance(examples, Sequence) or isinstance(examples, (str, bytes)):
        return []
    return [model.model_validate(example) for example in examples]


def encode(obj: Model) -> Item:
    """The item ``obj`` is stored as (keys, entity attribute and fields)."""
    return codec_for(type(obj)).encode(obj, check_size=False)


def scan_sample(db: Client, limit: int) -> list[Item]:
    """At most ``limit`` items of the live table: one Scan page with ``Limit``."""
    if limit < 1:
        raise InvalidRequestError(f"the sample size must be at least 1, not {limit}")
    answer = db.send("Scan", {"TableName": db.table_name, "Limit": limit})
    items: list[Item] = answer.get("Items", [])
    return items[:limit]


def load_fixture(path: Path, table: TableSchema) -> list[Model | Item]:
    """Sample items from a JSON or YAML file (see the module docs for its two shapes).

    Raises:
        InvalidRequestError: the file names an entity the table does not know, or its
            shape is neither of the two.
    """
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if isinstance(data, list):
        return [dict(item) for item in data]
    if not isinstance(data, Mapping):
        raise InvalidRequestError(f"{path}: expected a mapping of entity -> items, or a list "
                                  "of DynamoDB JSON items")
    by_name = {**{m.__name__: m for m in table.models.values()}, **table.models}
    out: list[Model | Item] = []
    for name, entries in data.items():
        model = by_name.get(name)
        if model is None:
            raise InvalidRequestError(f"{path}: table {table.name!r} has no entity {name!r} "
                                      f"(entities: {sorted(table.models)})")
        out.extend(model.model_validate(entry) for entry in entries or ())
    return out


def placeholder(model: type[M], n: int = 1) -> M | None:
    """An instance made of stand-in values (``username1``...), or ``None`` when the model's
    types allow none. Optional fields stay empty unless a key template uses them."""
    spec = model.__dyntable__
    templated = {f for key in spec.keys.values() for f in key.fields}
    values: dict[str, Any] = {}
    for name, fs in spec.fields.items():
        if fs.is_version or fs.is_ttl or not (fs.required or name in templated):
            continue
        value = _stand_in(name, fs.annotation, n)
        if value is not _NONE:
            values[name] = value
    try:
        return model.model_validate(values)
    except (ValueError, TypeError, DeclarationError):
        return None


_NONE = object()
_EPOCH = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)


def _stand_in(name: str, annotation: Any, n: int) -> Any:  # noqa: C901 - one branch per type
    kind = field_kind(annotation)
    base, origin, args = kind.base, kind.origin, kind.args
    token = "".join(c for c in name if c.isalnum()) + str(n)
    if origin is typing.Literal:
        return args[0] if args else _NONE
    if kind.is_set:
        item = _stand_in(name, args[0], n) if args else token
        return _NONE if item is _NONE else {item}
    if origin in (list, tuple, Sequence):
        return []
    if origin in (dict, Mapping):
        return {}
    if not isinstance(base, type):
        return token if base is Any else _NONE
    if issubclass(base, bool):
        return True
    if issubclass(base, enum.Enum):
        return next(iter(base))
    if issubclass(base, int):
        return n
    if issubclass(base, (float, Decimal)):
        return base(n)
    if issubclass(base, str):
        return token
    if issubclass(base, (bytes, bytearray)):
        return token.encode()
    if issubclass(base, datetime):
        return _EPOCH.replace(day=n)
    if issubclass(base, date):
        return _EPOCH.date().replace(day=n)
    if issubclass(base, time):
        return time(9, n)
    if issubclass(base, uuid.UUID):
        return uuid.UUID(int=n)
    fields = getattr(base, "model_fields", None)
    if isinstance(fields, Mapping):  # a pydantic sub-model: its required fields
        sub = {k: _stand_in(k, f.annotation, n) for k, f in fields.items() if f.is_required()}
        return _NONE if _NONE in sub.values() else sub
    return _NONE
