"""Which storage rule each field follows, and the checks made when a model class is created.

A field is stored by dyntable's own encoding of its type unless one of these applies, in
this order:

* a pydantic serializer used in python mode (``@field_serializer`` or ``PlainSerializer`` /
  ``WrapSerializer`` with ``when_used`` "always" or "unless-none"): what it returns is
  stored, encoded by its runtime type;
* a :class:`~dyntable.schema.formats.Format` or :class:`~dyntable.schema.formats.TypeHook`
  in the field's ``Annotated`` metadata;
* a table-level hook for the field's type (``Table(type_hooks={Money: ...})``).

The TTL and version fields keep their own encoding (table-level hooks skip them). What
cannot be honoured is refused here with a DeclarationError, never ignored: a format on a
field of another type, two rules on one field, a rule on a key field (a key template
holds dyntable's own text of the value; a native index key's attribute type comes from the
field's type), a format nested inside a container, a ``@model_serializer``, and a
table-hooked type where the hook cannot reach it (inside a container, or in a nested model).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from dyntable.errors import DeclarationError
from dyntable.schema.formats import Format, TypeHook

if TYPE_CHECKING:
    from pydantic import BaseModel

    from dyntable._internal.schema.spec import FieldSpec
    from dyntable.schema.table import TableSchema

__all__ = [
    "FieldFormat",
    "annotated_rule",
    "check_formats",
    "field_format",
    "serialized_fields",
]

_DATETIME_FORMATS = frozenset(
    {Format.EPOCH_SECONDS, Format.EPOCH_MILLIS, Format.PYNAMODB, Format.ISO_OFFSET}
)
#: Format -> the field types it applies to (``None``: any JSON-able type).
_TYPES: dict[Format, tuple[type, ...] | None] = {
    **dict.fromkeys(_DATETIME_FORMATS, (datetime,)),
    Format.BOOL_AS_NUMBER: (bool,),
    Format.JSON: None,
}
_PYTHON_MODE = ("always", "unless-none")


class FieldFormat(NamedTuple):
    """How one field is stored when not by dyntable's own encoding of its type."""

    format: Format | None = None
    hook: TypeHook[Any] | None = None
    #: a pydantic serializer gives the stored value
    serialized: bool = False


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """The annotation without ``Annotated`` layers, and their markers."""
    found: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        annotation, found = args[0], [*found, *args[1:]]
    return annotation, found


def _members(annotation: Any) -> list[Any] | None:
    """The members of a union (``X | None``), else ``None``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return list(typing.get_args(annotation))
    return None


def _top(annotation: Any, metadata: tuple[Any, ...]) -> tuple[Any, list[Any]]:
    """The field's base type (``X`` of ``X | None``) and every marker that applies to the
    whole field: pydantic's metadata and ``Annotated`` around ``X`` or around ``X | None``."""
    base, found = _strip(annotation)
    found = [*metadata, *found]
    members = _members(base)
    if members is not None:
        real = [m for m in members if m is not type(None)]
        if len(real) == 1:
            base, inner = _strip(real[0])
            found += inner
        else:
            base = Any
    return base, found


def _rules(found: list[Any]) -> list[Format | TypeHook[Any]]:
    return [m for m in found if isinstance(m, (Format, TypeHook))]


def _walk(annotation: Any) -> Iterator[Any]:
    """Every type and marker inside ``annotation`` (itself excluded), depth first."""
    for arg in typing.get_args(annotation):
        yield arg
        if not isinstance(arg, (str, bytes, int, bool, Format, TypeHook)):
            yield from _walk(arg)


def _inside(annotation: Any, metadata: tuple[Any, ...]) -> list[type]:
    """The types inside a field's type, its base type itself excluded (all of a union's)."""
    base, _found = _top(annotation, metadata)
    inner = _walk(annotation) if base is Any else _walk(base)
    return [t for t in inner if isinstance(t, type)]


def _deep_rules(annotation: Any) -> list[Any]:
    """Formats and hooks placed inside the type (e.g. ``list[Annotated[x, Format.JSON]]``)."""
    base, _found = _strip(annotation)
    members = _members(base)
    if members is not None:
        real = [m for m in members if m is not type(None)]
        if len(real) == 1:
            base, _inner = _strip(real[0])
    return [m for m in _walk(base) if isinstance(m, (Format, TypeHook))]


def _python_serializers(metadata: list[Any]) -> bool:
    from pydantic.functional_serializers import PlainSerializer, WrapSerializer

    return any(
        isinstance(m, (PlainSerializer, WrapSerializer)) and m.when_used in _PYTHON_MODE
        for m in metadata
    )


def serialized_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields of ``model`` whose python-mode dump goes through a pydantic serializer.

    ``@field_serializer`` and ``PlainSerializer`` / ``WrapSerializer`` anywhere in a
    field's annotation count when ``when_used`` is "always" or "unless-none"; the JSON-only
    ones ("json", "json-unless-none") do not apply to python mode, hence not to storage.
    """
    names: set[str] = set()
    fields = model.model_fields
    for dec in model.__pydantic_decorators__.field_serializers.values():
        if dec.info.when_used in _PYTHON_MODE:
            chosen = dec.info.fields
            names.update(fields if "*" in chosen else (f for f in chosen if f in fields))
    for name, info in fields.items():
        if name in names:
            continue
        markers = list(info.metadata)
        if info.annotation is not None:
            markers += list(_walk(info.annotation))
        if _python_serializers(markers):
            names.add(name)
    return frozenset(names)


def _hook_for(base: Any, hooks: Mapping[type, TypeHook[Any]]) -> TypeHook[Any] | None:
    if not hooks or not isinstance(base, type):
        return None
    for klass in base.__mro__:
        hook = hooks.get(klass)
        if hook is not None:
            return hook
    return None


def field_format(
    model: type[BaseModel],
    name: str,
    annotation: Any,
    metadata: tuple[Any, ...],
    *,
    hooks: Mapping[type, TypeHook[Any]] | None = None,
    serialized: frozenset[str] = frozenset(),
    own_encoding: bool = False,
) -> FieldFormat | None:
    """The rule field ``name`` follows, or ``None`` for dyntable's own encoding.

    ``serialized`` are the model's serializer fields (:func:`serialized_fields`);
    ``own_encoding`` marks the TTL and version fields, which table-level hooks skip.
    """
    if name in serialized:
        return FieldFormat(serialized=True)
    base, found = _top(annotation, metadata)
    for rule in _rules(found):
        return FieldFormat(format=rule) if isinstance(rule, Format) else FieldFormat(hook=rule)
    hook = None if own_encoding else _hook_for(base, hooks or {})
    return FieldFormat(hook=hook) if hook is not None else None


def annotated_rule(annotation: Any) -> FieldFormat | None:
    """The Format or TypeHook that ``Annotated`` metadata inside ``annotation`` gives the
    whole value (``Annotated[T, ...]`` or ``Annotated[T, ...] | None``), else ``None``."""
    _base, found = _top(annotation, ())
    for rule in _rules(found):
        return FieldFormat(format=rule) if isinstance(rule, Format) else FieldFormat(hook=rule)
    return None


# -- checks at class creation ----------------------------------------------------------


def _type_name(t: Any) -> str:
    return getattr(t, "__name__", None) or str(t)


_TEMPLATE_KEY = (
    "the key holds dyntable's own text of the value, which would differ from the stored "
    "attribute and from other writers' keys"
)
_NATIVE_KEY = "the index's key attribute type is derived from the field's own type"


def _key_fields(cls: type[Any], table: TableSchema) -> dict[str, str]:
    """Field -> the key that uses it and why a storage rule cannot apply there."""
    from dyntable._internal.schema.templates import Template
    from dyntable.schema.keys import Key
    from dyntable.schema.table import LSI

    declared: dict[str, Key] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, Key):
                declared[attr] = value
    primary = next((k for k in declared.values() if k.index is None), None)
    out: dict[str, str] = {}
    for key in declared.values():
        sources = [key.pk, key.sk]
        if key.index is not None:
            try:
                idx = table.index(key.index)
            except DeclarationError:
                continue  # reported by the key's own checks
            if isinstance(idx, LSI):
                sources[0] = primary.pk if primary is not None else None
            elif idx.multi_attribute or (key.pk is None and key.sk is None):
                for a in (*idx.pk_attrs, *idx.sk_attrs):  # the fields are the attributes
                    out.setdefault(a, f"native key attribute of index {idx.name!r} "
                                      f"({_NATIVE_KEY})")
                continue
        for source in sources:
            if not isinstance(source, str):
                continue
            try:
                template = Template.parse(source)
            except DeclarationError:
                continue
            for f in template.fields:
                out.setdefault(f, f"key template {source!r} ({_TEMPLATE_KEY})")
    return out


def _describe(rule: FieldFormat) -> str:
    if rule.serialized:
        return "a pydantic serializer"
    if rule.format is not None:
        return repr(rule.format)
    return "a TypeHook"


def _check_type(where: str, fmt: Format, base: Any, annotation: Any) -> None:
    allowed = _TYPES[fmt]
    if allowed is None:
        return
    if not (isinstance(base, type) and issubclass(base, allowed)):
        names = " or ".join(_type_name(t) for t in allowed)
        given = _type_name(base) if base is not Any else repr(annotation)
        raise DeclarationError(
            f"{where}: {fmt!r} applies to {names} fields (optionally `| None`), not {given}"
        )


def _check_field(
    where: str, annotation: Any, metadata: tuple[Any, ...], serialized: bool,
    hooks: Mapping[type, TypeHook[Any]],
) -> FieldFormat | None:
    """Check one field's markers; its rule (table-level hooks not included)."""
    base, found = _top(annotation, metadata)
    rules = _rules(found)
    deep = _deep_rules(annotation)
    if deep:
        raise DeclarationError(
            f"{where}: {deep[0]!r} sits inside the field's type; a Format or TypeHook applies "
            "to a whole field (Annotated[T, ...] or Annotated[T, ...] | None). Store the "
            "container with Format.JSON or a TypeHook of the field"
        )
    if len(rules) > 1:
        raise DeclarationError(
            f"{where}: {rules[0]!r} and {rules[1]!r}: give a field one Format or TypeHook"
        )
    rule = rules[0] if rules else None
    if serialized and rule is not None:
        raise DeclarationError(
            f"{where}: a pydantic serializer and {rule!r} on one field; the serializer's "
            "result is what is stored, so drop one of them"
        )
    if isinstance(rule, Format):
        _check_type(where, rule, base, annotation)
    inner = [t for t in _inside(annotation, metadata) if _hook_for(t, hooks)]
    if inner and rule is None and not serialized:
        raise DeclarationError(
            f"{where}: the table's type hook for {_type_name(inner[0])} applies to fields of "
            f"that type (optionally `| None`), not to values inside {annotation!r}; give the "
            "field its own TypeHook (or Format.JSON)"
        )
    if serialized:
        return FieldFormat(serialized=True)
    if isinstance(rule, Format):
        return FieldFormat(format=rule)
    if isinstance(rule, TypeHook):
        return FieldFormat(hook=rule)
    return None


def _nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    from pydantic import BaseModel

    for t in (annotation, *_walk(annotation)):
        if isinstance(t, type) and issubclass(t, BaseModel):
            yield t


def _check_model_serializer(model: type[BaseModel], where: str) -> None:
    if model.__pydantic_decorators__.model_serializers:
        raise DeclarationError(
            f"{where}: @model_serializer is not applied by dyntable, which stores a model "
            "field by field; give the fields that need it a field_serializer, a TypeHook or "
            "a Format (dyntable.Format / dyntable.TypeHook)"
        )


def _check_nested(
    model: type[BaseModel], via: str, hooks: Mapping[type, TypeHook[Any]],
    seen: set[type[Any]],
) -> None:
    """Check a nested model's fields: its own formats, hooks and serializers apply; the
    table's type hooks do not reach it."""
    if model in seen:
        return
    seen.add(model)
    _check_model_serializer(model, f"{model.__name__} (in {via})")
    serialized = serialized_fields(model)
    for name, info in model.model_fields.items():
        where = f"{model.__name__}.{name} (in {via})"
        metadata = tuple(info.metadata)
        rule = _check_field(where, info.annotation, metadata, name in serialized, {})
        if rule is None and hooks:
            base, _found = _top(info.annotation, metadata)
            types_ = [base, *_inside(info.annotation, metadata)]
            if any(_hook_for(t, hooks) for t in types_):
                raise DeclarationError(
                    f"{where}: the table's type hooks apply to the fields of its models, not "
                    "to nested models; give this field its own Annotated[..., TypeHook(...)]"
                )
        for sub in _nested_models(info.annotation):
            _check_nested(sub, via, hooks, seen)


def check_formats(
    cls: type[BaseModel], table: TableSchema, fields: Mapping[str, FieldSpec]
) -> None:
    """Refuse, at class creation, storage rules that could not be honoured (module doc)."""
    hooks: Mapping[type, TypeHook[Any]] = getattr(table, "type_hooks", None) or {}
    _check_model_serializer(cls, cls.__name__)
    serialized = serialized_fields(cls)
    keyed: dict[str, str] | None = None
    seen: set[type[Any]] = {cls}
    for name, f in fields.items():
        where = f"{cls.__name__}.{name}"
        own = f.is_ttl or f.is_version
        rule = _check_field(where, f.annotation, f.metadata, name in serialized,
                            {} if own else hooks)
        if rule is None and not own:
            rule = field_format(cls, name, f.annotation, f.metadata, hooks=hooks)
        if rule is not None:
            if own:
                role = "TTL" if f.is_ttl else "version"
                raise DeclarationError(
                    f"{where}: the {role} field keeps dyntable's own encoding; "
                    f"{_describe(rule)} cannot apply to it"
                )
            if keyed is None:
                keyed = _key_fields(cls, table)
            if name in keyed:
                raise DeclarationError(
                    f"{where}: {_describe(rule)} cannot apply to a key field, used by "
                    f"{keyed[name]}; declare the field as the type the key holds (e.g. int "
                    "epoch seconds, str)"
                )
        for sub in _nested_models(f.annotation):
            _check_nested(sub, where, hooks, seen)
