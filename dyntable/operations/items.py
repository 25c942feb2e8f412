"""Single-item requests: put, get, delete and the update builder (no I/O here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from dyntable.codec.items import ItemCodec
from dyntable.errors import ExpressionError, InvalidRequestError, KeyTemplateError
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Condition, all_of
from dyntable.expressions.paths import F, Path, attr, if_not_exists
from dyntable.expressions.updates import Action

if TYPE_CHECKING:
    from dyntable.schema.model import Model

__all__ = ["Request", "UpdateSpec", "delete_request", "get_request", "put_request",
           "update_request"]

M = TypeVar("M", bound="Model")
AV = dict[str, Any]
ReturnValues = Literal["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]


@dataclass
class Request:
    """A compiled request: the operation, its parameters and what the client needs to know.

    ``key`` is the item key (wire form) for error context; ``version_checked`` tells the
    client to raise VersionConflictError on a failed condition; ``new_version`` is the
    version written (set on the instance after success). ``outcome`` is what the stored
    item must hold once this write has been applied (attribute -> value, ``None`` for an
    absent attribute): after a retried request fails its version condition, the client
    compares it with the stored item to tell "my first attempt was applied" (an ambiguous
    500) from a real conflict. ``None`` when the outcome cannot be checked.
    """

    operation: str
    params: dict[str, Any]
    key: dict[str, AV] = field(default_factory=dict)
    version_checked: bool = False
    expected_version: int | None = None
    new_version: int | None = None
    outcome: dict[str, AV | None] | None = None


def _version_condition(codec: ItemCodec[Any], expected: int) -> Condition:
    name = codec.spec.version_field
    assert name is not None
    if expected <= 0:
        return attr(codec.spec.primary.pk_attr).not_exists()
    return F[name] == expected


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
    """PutItem for ``obj``; checks and bumps the version field when the model has one."""
    if not isinstance(obj, codec.model):
        raise InvalidRequestError(f"expected a {codec.model.__name__}, got {type(obj).__name__}")
    item = codec.encode(obj)
    key = {a: item[a] for a in codec.spec.primary.attrs}
    compiler = Compiler(codec)
    conds: list[Condition | None] = [condition]
    if if_absent:
        conds.append(attr(codec.spec.primary.pk_attr).not_exists())
    req = Request("PutItem", {"TableName": table, "Item": item}, key)
    vname = codec.spec.version_field
    if vname is not None:
        expected = int(getattr(obj, vname) or 0)
        req.new_version = expected + 1
        item[vname] = {"N": str(expected + 1)}
        if check_version:
            conds.append(_version_condition(codec, expected))
            req.version_checked = True
            req.expected_version = expected
            req.outcome = dict(item)
    _finish(req.params, compiler, all_of(*conds))
    if return_old:
        req.params["ReturnValues"] = "ALL_OLD"
    return req


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
            [*project, *(attr(a) for a in key), attr(codec.entity_attr)]
        )
        params.update(compiler.params())
    return Request("GetItem", params, key)


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
    conds: list[Condition | None] = [condition]
    req = Request("DeleteItem", {"TableName": table, "Key": key}, key)
    if expected_version is not None and codec.spec.version_field:
        conds.append(_version_condition(codec, expected_version)
                     if expected_version > 0 else attr(codec.spec.primary.pk_attr).exists())
        req.version_checked = True
        req.expected_version = expected_version
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


def update_request(
    codec: ItemCodec[M],
    table: str,
    key_values: Mapping[str, Any],
    spec: UpdateSpec,
) -> Request:
    """UpdateItem: the actions, index key rewrites, version bump and condition."""
    if not spec.actions:
        raise ExpressionError("an update needs at least one action (set, remove, add...)")
    key = codec.key(key_values)
    model = codec.model.__name__
    primary_fields = set(codec.spec.primary.fields)
    touched: dict[str, Any] = {}
    removed: set[str] = set()
    actions: list[Action] = []
    checkable = True
    for a in spec.actions:
        if a.kind not in ("SET", "REMOVE") or len(a.path.elements) != 1 or (
            a.kind == "SET" and _is_operand(a.value)
        ):
            checkable = False
        name = a.path.field
        if a.path.raw:
            actions.append(a)
            continue
        actions.append(_validated(codec, a))
        if name in primary_fields:
            raise InvalidRequestError(
                f"{model}.{name} is part of the primary key and cannot be updated; "
                "write a new item and delete the old one (e.g. in a transaction)"
            )
        if name == codec.spec.version_field:
            raise InvalidRequestError(f"{model}.{name} is the version field; dyntable sets it")
        if len(a.path.elements) == 1:
            if a.kind == "SET" and not _is_operand(a.value):
                touched[name] = a.value
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
    actions += _index_rewrites(codec, touched, removed, spec.known, key_values)
    conds: list[Condition | None] = [spec.condition, attr(codec.spec.primary.pk_attr).exists()]
    req = Request("UpdateItem", {"TableName": table, "Key": key}, key)
    vname = codec.spec.version_field
    if vname is not None:
        if spec.expected_version is not None:
            conds.append(F[vname] == spec.expected_version if spec.expected_version > 0
                         else F[vname].not_exists())
            req.version_checked = True
            req.expected_version = spec.expected_version
            req.new_version = spec.expected_version + 1
            actions.append(Action("SET", F[vname], spec.expected_version + 1))
            if checkable:
                req.outcome = _update_outcome(codec, actions)
        else:
            actions.append(Action("SET", F[vname], if_not_exists(F[vname], 0) + 1))
    compiler = Compiler(codec)
    req.params["UpdateExpression"] = compiler.update(actions)
    _finish(req.params, compiler, all_of(*conds))
    req.params["ReturnValues"] = spec.return_values
    return req


def _update_outcome(codec: ItemCodec[Any], actions: list[Action]) -> dict[str, AV | None]:
    """Attribute values an update of plain SET / REMOVE actions leaves on the item."""
    out: dict[str, AV | None] = {}
    for a in actions:
        name = a.path.field
        if a.kind == "REMOVE":
            out[name] = None
        elif a.path.raw:
            out[name] = a.value if isinstance(a.value, dict) else None
        else:
            out[name] = codec.encode_field(name, a.value)
    return out


def _validated(codec: ItemCodec[Any], action: Action) -> Action:
    """The action with its plain top-level value validated as the field's type."""
    if len(action.path.elements) != 1 or action.kind == "REMOVE" or _is_operand(action.value):
        return action
    if action.value is None and action.kind == "SET":
        return action
    value = codec.coerce(action.path.field, action.value)
    return Action(action.kind, action.path, value)


class _Unknown:
    def __repr__(self) -> str:
        return "<computed>"


_UNKNOWN = _Unknown()


def _is_operand(value: Any) -> bool:
    from dyntable.expressions.paths import IfNotExists, ListAppend, Minus, Plus

    return isinstance(value, (Path, Plus, Minus, IfNotExists, ListAppend))


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
