"""Single-item requests: put, get, delete and the update builder (no I/O here)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from dyntable._internal.codec.items import ItemCodec
from dyntable._internal.operations.flow import Request
from dyntable._internal.operations.stamps import put_stamps, stamped, update_stamps
from dyntable._internal.schema.receipts import (
    RECEIPTS_ATTRIBUTE,
    Receipts,
    entry,
    new_token,
    recall,
    slot,
)
from dyntable.errors import ExpressionError, InvalidRequestError, KeyTemplateError
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Compiled, Condition, all_of
from dyntable.expressions.paths import F, Path, attr, if_not_exists
from dyntable.expressions.updates import Action

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = [
    "Request",
    "UpdateSpec",
    "delete_request",
    "entity_guard",
    "entity_paths",
    "get_request",
    "is_model",
    "put_request",
    "receipts_for_put",
    "require_table",
    "update_request",
]

M = TypeVar("M", bound="Model")
AV = dict[str, Any]
ReturnValues = Literal["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]


def is_model(value: Any) -> bool:
    """True for a dyntable model instance (without importing the model module: when it is
    not loaded, no model can exist)."""
    module = sys.modules.get("dyntable.schema.model")
    return module is not None and isinstance(value, module.Model)


def require_table(model: Any, table: TableSchema) -> None:
    """Refuse a model that is not a dyntable model of ``table`` (the client's table)."""
    spec = getattr(model, "__dyntable__", None)
    if spec is None:
        raise InvalidRequestError(
            f"{getattr(model, '__name__', model)!r} is not a dyntable model bound to a table "
            "(declare it with the class keywords table= and entity=)"
        )
    if spec.table is not table:
        raise InvalidRequestError(
            f"{model.__name__} is declared on table {spec.table.name!r}; this client is for "
            f"table {table.name!r}: use a client of {spec.table.name!r} for it"
        )


def _version_condition(codec: ItemCodec[Any], expected: int) -> Condition:
    name = codec.spec.version_field
    assert name is not None
    if expected <= 0:
        return attr(codec.spec.primary.pk_attr).not_exists()
    return F[name] == expected


_GUARDS: dict[int, tuple[ItemCodec[Any], Compiled, Compiled]] = {}


def _guards(codec: ItemCodec[Any]) -> tuple[Compiled | None, Compiled | None]:
    """The entity guards of a model, compiled once: (absent or ours, ours if present);
    none on a table without an entity attribute."""
    if codec.entity_attr is None:
        return None, None
    held = _GUARDS.get(id(codec))
    if held is None or held[0] is not codec:
        entity = attr(codec.entity_attr)
        ours = entity.not_exists() | (entity == codec.entity)
        absent = attr(codec.spec.primary.pk_attr).not_exists() | ours
        held = (codec, Compiler(codec, prefix="e").compiled(absent),
                Compiler(codec, prefix="f").compiled(ours))
        _GUARDS[id(codec)] = held
    return held[1], held[2]


def entity_paths(codec: ItemCodec[Any]) -> list[Path]:
    """What a projection adds so a partial item can be told apart: the entity attribute,
    if the table has one (the key attributes are always projected)."""
    return [attr(codec.entity_attr)] if codec.entity_attr is not None else []


def entity_guard(codec: ItemCodec[Any]) -> Condition | None:
    """The stored item, if any, is this model's (or carries no entity attribute)."""
    return _guards(codec)[0]


def _finish(
    params: dict[str, Any],
    compiler: Compiler,
    condition: Condition | None,
    *,
    return_on_failure: bool = True,
) -> None:
    if condition is not None:
        params["ConditionExpression"] = compiler.condition(condition)
        if return_on_failure:
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    params.update(compiler.params())


def put_request(
    codec: ItemCodec[M],
    table: str,
    obj: M,
    *,
    condition: Condition | None = None,
    if_absent: bool = False,
    return_old: bool = False,
    check_version: bool = True,
) -> Request:
    """PutItem for ``obj``; checks and bumps the version field when the model has one.

    The put never replaces an item of another entity (entity condition). A versioned put
    stores a write receipt (:mod:`dyntable._internal.schema.receipts`).
    """
    if not isinstance(obj, codec.model):
        raise InvalidRequestError(f"expected a {codec.model.__name__}, got {type(obj).__name__}")
    stamps = put_stamps(codec, obj)
    item = codec.encode(stamped(obj, stamps))
    key = {a: item[a] for a in codec.spec.primary.attrs}
    compiler = Compiler(codec)
    conds: list[Condition | None] = [condition]
    if if_absent:
        conds.append(attr(codec.spec.primary.pk_attr).not_exists())
    req = Request("PutItem", {"TableName": table, "Item": item}, key, codec.model, "put",
                  guarded=True, if_absent=if_absent)
    req.stamps = stamps or None
    vname = codec.spec.version_field
    if vname is not None:
        expected = int(getattr(obj, vname) or 0)
        req.new_version = expected + 1
        item[vname] = {"N": str(expected + 1)}
        req.token = new_token()
        req.receipts = receipts_for_put(obj, expected, req.token)
        item[RECEIPTS_ATTRIBUTE] = req.receipts.to_av()
        if check_version:
            conds.append(_version_condition(codec, expected))
            req.version_checked = True
            req.expected_version = expected
    if not (if_absent or (req.version_checked and req.expected_version == 0)):
        conds.append(entity_guard(codec))
    given = [c for c in conds if c is not None]
    if len(given) == 1 and isinstance(given[0], Compiled):  # the guard alone: as compiled
        guard = given[0]
        req.params["ConditionExpression"] = guard.text
        req.params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        req.params["ExpressionAttributeNames"] = dict(guard.names)
        req.params["ExpressionAttributeValues"] = dict(guard.values)
    else:
        _finish(req.params, compiler, all_of(*given))
    if return_old:
        req.params["ReturnValues"] = "ALL_OLD"
    return req


def receipts_for_put(obj: Any, expected: int, token: str) -> Receipts:
    """The receipts a put of ``obj`` (stored version ``expected``) leaves on the item."""
    new_version = expected + 1
    known = recall(obj, expected) if expected > 0 else None
    if known is None:
        return Receipts.fresh(new_version, token)
    return known.after(new_version, token)


def get_request(
    codec: ItemCodec[Any],
    table: str,
    key: dict[str, AV],
    *,
    consistent: bool = False,
    project: Sequence[str | Path] | None = None,
) -> Request:
    """GetItem by primary key."""
    params: dict[str, Any] = {"TableName": table, "Key": key}
    if consistent:
        params["ConsistentRead"] = True
    if project:
        compiler = Compiler(codec)
        params["ProjectionExpression"] = compiler.projection(
            [*project, *(attr(a) for a in key), *entity_paths(codec)]
        )
        params.update(compiler.params())
    return Request("GetItem", params, key, codec.model, "get")


def delete_request(
    codec: ItemCodec[Any],
    table: str,
    key: dict[str, AV],
    *,
    condition: Condition | None = None,
    expected_version: int | None = None,
    return_old: bool = False,
) -> Request:
    """DeleteItem; with ``expected_version`` the stored version must match."""
    compiler = Compiler(codec)
    conds: list[Condition | None] = [condition, entity_guard(codec)]
    req = Request("DeleteItem", {"TableName": table, "Key": key}, key, codec.model, "delete",
                  guarded=True)
    if expected_version is not None and codec.spec.version_field:
        conds.append(_version_condition(codec, expected_version)
                     if expected_version > 0 else attr(codec.spec.primary.pk_attr).exists())
        req.version_checked = True
        req.expected_version = expected_version
        req.needs_item = True
    _finish(req.params, compiler, all_of(*conds))
    if return_old:
        req.params["ReturnValues"] = "ALL_OLD"
    return req


@dataclass
class UpdateSpec:
    """What an update builder collected."""

    actions: list[Action] = field(default_factory=list)
    condition: Condition | None = None
    return_values: ReturnValues = "ALL_NEW"
    expected_version: int | None = None
    known: dict[str, Any] = field(default_factory=dict)
    #: create the item when it is absent (``db.upsert``): defaults, key fields, entity
    upsert: bool = False


def update_request(
    codec: ItemCodec[M],
    table: str,
    key_values: Mapping[str, Any],
    spec: UpdateSpec,
    *,
    receipt: bool = True,
) -> Request:
    """UpdateItem: the actions, index key rewrites, version bump and condition.

    The item must exist and be this model's. With an expected version the update checks it
    and sets its write receipt slot; it is idempotent then (the version condition makes a
    resend fail rather than apply twice). Without one, an update that adds, appends or
    computes from stored values is not idempotent: the transport does not resend it after
    an ambiguous failure. ``receipt=False`` leaves the receipt out (transactions, whose
    token makes them idempotent, and which must not fail on an item without receipts).
    """
    if not spec.actions and not spec.upsert:
        raise ExpressionError("an update needs at least one action (set, remove, add...)")
    key = codec.key(key_values)
    given = [*spec.actions, *update_stamps(codec, spec.actions, upsert=spec.upsert)]
    actions, touched, removed, idempotent = _checked_actions(codec, given)
    if spec.upsert:
        actions += _upsert_actions(codec, touched, removed, key_values)
        conds: list[Condition | None] = [spec.condition, _guards(codec)[0]]
    else:
        actions += _index_rewrites(codec, touched, removed, spec.known, key_values)
        conds = [spec.condition, attr(codec.spec.primary.pk_attr).exists(), _guards(codec)[1]]
    req = Request("UpdateItem", {"TableName": table, "Key": key}, key, codec.model,
                  "upsert" if spec.upsert else "update", needs_item=not spec.upsert,
                  guarded=True)
    vname = codec.spec.version_field
    fallback: list[Action] | None = None
    if vname is not None:
        if spec.expected_version is not None:
            expected = spec.expected_version
            conds.append(F[vname] == expected if expected > 0 else F[vname].not_exists())
            req.version_checked = True
            req.expected_version = expected
            req.new_version = expected + 1
            actions.append(Action("SET", F[vname], expected + 1))
            idempotent = True
            if receipt:
                req.token = new_token()
                fallback = [*actions, Action(
                    "SET", attr(RECEIPTS_ATTRIBUTE),
                    Receipts.fresh(expected + 1, req.token).to_av())]
                actions.append(Action("SET", attr(RECEIPTS_ATTRIBUTE)[slot(expected + 1)],
                                      {"S": entry(expected + 1, req.token)}))
        else:
            actions.append(Action("SET", F[vname], if_not_exists(F[vname], 0) + 1))
    req.idempotent = idempotent
    condition = all_of(*conds)
    compiler = Compiler(codec)
    req.params["UpdateExpression"] = compiler.update(actions)
    _finish(req.params, compiler, condition)
    req.params["ReturnValues"] = spec.return_values
    if fallback is not None:
        again = Compiler(codec)
        params = {"TableName": table, "Key": key, "UpdateExpression": again.update(fallback)}
        _finish(params, again, condition)
        params["ReturnValues"] = spec.return_values
        req.receipts_fallback = params
    return req


def _checked_actions(
    codec: ItemCodec[Any], given: list[Action]
) -> tuple[list[Action], dict[str, Any], set[str], bool]:
    """The actions validated against the model, the top-level fields they set (value, or
    ``_UNKNOWN`` when computed) and remove, and whether resending them is harmless."""
    model = codec.model.__name__
    primary_fields = set(codec.spec.primary.fields)
    touched: dict[str, Any] = {}
    removed: set[str] = set()
    actions: list[Action] = []
    idempotent = True
    for a in given:
        if (a.kind == "ADD" and not isinstance(a.value, (set, frozenset))) or (
                a.kind == "SET" and _is_computed(a.value)):
            idempotent = False
        name = a.path.field
        if a.path.raw:
            actions.append(a)
            continue
        validated = _validated(codec, a)
        spec = codec.spec.fields.get(name)
        if spec is None or spec.stored:
            actions.append(validated)
        elif len(a.path.elements) != 1 or a.kind not in ("SET", "REMOVE") or (
                a.kind == "SET" and is_operand(a.value)):
            raise InvalidRequestError(
                f"{model}.{name} is kept only inside index key attributes (store_fields="
                "False): set it to a plain value or remove it; the index key is rewritten"
            )
        if name in primary_fields:
            raise InvalidRequestError(
                f"{model}.{name} is part of the primary key and cannot be updated; "
                "write a new item and delete the old one (e.g. in a transaction)"
            )
        if name == codec.spec.version_field:
            raise InvalidRequestError(f"{model}.{name} is the version field; dyntable sets it")
        if len(a.path.elements) == 1:
            if a.kind == "SET" and not is_operand(a.value):
                touched[name] = validated.value
            elif a.kind == "REMOVE":
                if codec.spec.fields[name].required if name in codec.spec.fields else False:
                    raise InvalidRequestError(
                        f"{model}.{name} is a required field; removing it would leave an item "
                        f"that no longer fits {model}"
                    )
                removed.add(name)
            else:
                touched[name] = _UNKNOWN
        else:
            touched.setdefault(name, _UNKNOWN)
    return actions, touched, removed, idempotent


def _is_computed(value: Any) -> bool:
    """True for a SET value computed from stored values (``F.n + 1``, ``list_append``)."""
    from dyntable.expressions.paths import IfNotExists, ListAppend, Minus, Plus

    if isinstance(value, IfNotExists):
        return _is_computed(value.default)
    return isinstance(value, (Plus, Minus, ListAppend))


def _validated(codec: ItemCodec[Any], action: Action) -> Action:
    """The action with its plain top-level value validated as the field's type."""
    if len(action.path.elements) != 1 or action.kind == "REMOVE" or is_operand(action.value):
        return action
    if action.value is None and action.kind == "SET":
        return action
    value = codec.coerce(action.path.field, action.value)
    return Action(action.kind, action.path, value)


class _Unknown:
    def __repr__(self) -> str:
        return "<computed>"


_UNKNOWN = _Unknown()


def is_operand(value: Any) -> bool:
    from dyntable.expressions.paths import IfNotExists, ListAppend, Minus, Plus

    return isinstance(value, (Path, Plus, Minus, IfNotExists, ListAppend))


def _defaults(codec: ItemCodec[Any]) -> dict[str, Any]:
    """The declared default of every field that has one (factories called)."""
    out: dict[str, Any] = {}
    for name, info in codec.model.model_fields.items():
        if info.is_required():
            continue
        out[name] = info.get_default(call_default_factory=True, validated_data={})
    return out


def _upsert_actions(
    codec: ItemCodec[Any],
    touched: Mapping[str, Any],
    removed: set[str],
    key_values: Mapping[str, Any],
) -> list[Action]:
    """What an upsert adds to its actions so that, when it creates the item, the item is
    complete: key fields and the entity, each unset field's default (``if_not_exists``, so
    an existing item keeps its values) and the index keys.

    Raises:
        InvalidRequestError: a required field is neither a key field nor set.
    """
    spec = codec.spec
    model = codec.model.__name__
    keys = {f: codec.coerce(f, v) for f, v in key_values.items()}
    given = set(touched) | removed | set(keys)
    filled = {spec.version_field, spec.created_field, spec.updated_field}
    missing = [n for n, f in spec.fields.items() if f.required and n not in given
               and n not in filled]
    if missing:
        raise InvalidRequestError(
            f"upsert of {model}: required field(s) {missing} are not set; an item the upsert "
            "creates must be complete (set them, or give them defaults)"
        )
    out: list[Action] = []
    entity = codec.entity_attr
    if entity is not None:
        out.append(Action("SET", attr(entity), {"S": codec.entity}))
    if codec.version_av is not None:
        from dyntable._internal.schema.versions import VERSION_ATTRIBUTE

        out.append(Action("SET", attr(VERSION_ATTRIBUTE),
                          if_not_exists(attr(VERSION_ATTRIBUTE), codec.version_av)))
    for name, value in keys.items():
        if spec.fields[name].stored:
            out.append(Action("SET", F[name], value))
    defaults = {n: v for n, v in _defaults(codec).items()
                if n not in given and v is not None and n != spec.version_field
                and not (isinstance(v, (set, frozenset)) and not v)}
    for name, value in defaults.items():
        if spec.fields[name].stored:
            out.append(Action("SET", F[name], if_not_exists(F[name], value)))
    changed = set(touched) | removed
    for ikey, parts in codec.index_keys:
        fields = set(ikey.fields)
        if fields & changed:
            continue  # rewritten from the values given (_index_rewrites, below)
        values = {f: keys.get(f, defaults.get(f)) for f in ikey.fields}
        built = codec._index_attrs(parts, {f: None if v is None else codec.coerce(f, v)
                                           for f, v in values.items()})
        if built is None:
            continue  # a field is None: the item stays out of this (sparse) index
        for p in parts:
            # only where the item has none: an existing item keeps the key of its values
            out.append(Action("SET", attr(p.attr), if_not_exists(attr(p.attr), built[p.attr])))
    return out + _index_rewrites(codec, touched, removed, {}, keys)


def _index_rewrites(
    codec: ItemCodec[Any],
    touched: Mapping[str, Any],
    removed: set[str],
    known: Mapping[str, Any],
    key_values: Mapping[str, Any],
) -> list[Action]:
    """SET / REMOVE actions that keep index key attributes in step with updated fields."""
    out: list[Action] = []
    changed = set(touched) | removed
    for key, parts in codec.index_keys:
        fields = set(key.fields)
        if not fields & changed:
            continue
        values: dict[str, Any] = {}
        missing = []
        for f in key.fields:
            if f in removed:
                values[f] = None
            elif f in touched:
                values[f] = touched[f]
            elif f in key_values:
                values[f] = key_values[f]
            elif f in known:
                values[f] = known[f]
            else:
                missing.append(f)
        bad = [f for f, v in values.items() if v is _UNKNOWN]
        if bad:
            raise InvalidRequestError(
                f"{codec.model.__name__}: {bad} feed index {key.index!r} key "
                f"({key.name}); set them to plain values so the index key can be rewritten"
            )
        if missing:
            raise KeyTemplateError(
                f"{codec.model.__name__}: updating {sorted(fields & changed)} changes index "
                f"{key.index!r} ({key.name}); also give {missing} (e.g. .set({missing[0]}=...))"
                " or update from an instance"
            )
        coerced = {f: (None if v is None else codec.coerce(f, v)) for f, v in values.items()}
        built = codec._index_attrs(parts, coerced)
        for p in parts:
            if built is None:
                out.append(Action("REMOVE", attr(p.attr)))
            else:
                out.append(Action("SET", attr(p.attr), built[p.attr]))
    return out
