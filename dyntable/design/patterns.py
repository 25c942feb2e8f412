"""Access patterns: every declared ``Key``, an example ``db.query(...)`` call, and the request
it compiles to (by the real query builder, on a client that sends nothing)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dyntable._internal.codec.items import codec_for
from dyntable.errors import DyntableError, TransportError

if TYPE_CHECKING:
    from dyntable._internal.schema.spec import KeySpec
    from dyntable.client import Client
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["AccessPattern", "access_patterns", "offline_client"]


@dataclass(frozen=True)
class AccessPattern:
    """One declared key read as a query: where it reads, what it needs, what it sends."""

    entity: str
    model: str
    key: str
    index: str | None
    pk_fields: tuple[str, ...]
    sk_fields: tuple[str, ...]
    pk_templates: tuple[str, ...]
    sk_templates: tuple[str, ...]
    #: Python source of the example call, e.g. ``db.query(Order.primary, username='ada')``
    call: str
    #: ``{"operation": "Query", "params": {...}}``, or ``{"error": "..."}`` when it
    #: cannot compile (the reason is kept, never hidden)
    request: dict[str, Any]


class _Offline:
    """A transport that refuses to send: compiling needs none."""

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        raise TransportError(f"the design view sends nothing (asked for {operation})")

    def close(self) -> None:
        return None


def offline_client(table: TableSchema) -> Client:
    """A client of ``table`` whose transport sends nothing (for compiling requests)."""
    from dyntable.client import Client

    return Client(table, transport=_Offline())


def access_patterns(table: TableSchema, examples: Mapping[str, Model]) -> list[AccessPattern]:
    """One pattern per key of every model, in model then declaration order.

    ``examples`` maps entity names to an instance whose values fill the example calls.
    """
    db = offline_client(table)
    out: list[AccessPattern] = []
    for entity, model in table.models.items():
        spec = model.__dyntable__
        example = examples.get(entity)
        for name, key in spec.keys.items():
            values = _values(example, key)
            call, request = _compile(db, model, name, values)
            out.append(AccessPattern(
                entity=entity, model=model.__name__, key=name, index=key.index,
                pk_fields=key.pk_fields, sk_fields=key.sk_fields,
                pk_templates=tuple(t.source for t in key.pk_templates),
                sk_templates=tuple(t.source for t in key.sk_templates),
                call=call, request=request,
            ))
    return out


def _values(example: Model | None, key: KeySpec) -> dict[str, Any]:
    """The partition fields of ``key`` from ``example`` (stand-ins when there is none)."""
    if example is None:
        return {f: f"<{f}>" for f in key.pk_fields}
    return {f: getattr(example, f, None) for f in key.pk_fields}


def _compile(db: Client, model: type[Model], key_name: str, values: dict[str, Any]
             ) -> tuple[str, dict[str, Any]]:
    args = "".join(f", {f}={_literal(v)}" for f, v in values.items())
    call = f"db.query({model.__name__}.{key_name}{args})"
    try:
        params = db.query(getattr(model, key_name), **values).params()
    except DyntableError as exc:
        return call, {"error": f"{type(exc).__name__}: {exc}"}
    return call, {"operation": "Query", "params": _plain_params(params)}


def _literal(value: Any) -> str:
    """Source text of an example value (enum members by their value)."""
    raw = getattr(value, "value", value)
    return repr(raw)


def _plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """Request parameters with binary values as base64 text (JSON-friendly)."""
    from dyntable.design.values import plain

    out = dict(params)
    values = params.get("ExpressionAttributeValues")
    if values:
        out["ExpressionAttributeValues"] = {
            k: ({"B": plain(v)} if "B" in v else v) for k, v in values.items()
        }
    return out


def example_values(model: type[Model], item: Mapping[str, Any]) -> Model | None:
    """An instance decoded from a stored item, or ``None`` when it does not decode."""
    try:
        return codec_for(model).decode(item)
    except (DyntableError, ValueError, TypeError):
        return None
