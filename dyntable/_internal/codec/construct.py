"""Decoding straight to model instances, for models whose validation the codec already did.

The compiled decoder (:func:`~dyntable._internal.codec.compiled.compile_values`) converts
numbers, datetimes, bytes and nested maps itself, so for plain fields pydantic's validation
of its output only re-checks types the wire could have got wrong. For a model with nothing
else to run (no validators, constraints, post-init hook, private attributes, converters or
config that changes values), a function generated once per class makes the same checks
inline and builds the instance directly (``__dict__`` and the fields set, as pydantic's own
``model_construct`` does, without its per-call overhead):

* ``str`` (and ``str`` in lists, sets and maps), ``bool``: the value has exactly that type;
* ``Decimal``: finite (pydantic refuses ``NaN`` / ``Infinity``);
* enums: the class's own lookup of the stored value;
* nested models: the same, recursively; a map holding an attribute that is not a field of
  its model, or nested deeper than DynamoDB stores, is left to validation;
* ``int``, ``float``, ``datetime``, ``bytes``, TTL fields: the decoder's conversion gives that
  type already (``int("1.5")`` fails, as before).

An absent field takes its default as pydantic would: a hashable default is shared, a
``default_factory`` is called, an empty list, dict or set default is a new one.

Anything else (a missing required attribute, a ``NULL``, a wrong type, another default that
pydantic deep-copies) returns ``None`` or raises, and the item goes through pydantic's
validation as before, which decides and reports (``DecodeError`` naming the field).
Instances are equal to validated ones, with the same ``model_fields_set``.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dyntable._internal.codec.fields import field_kind, kind_tag
from dyntable._internal.codec.limits import MAX_CONTAINERS
from dyntable._internal.codec.pydantic_loaded import is_model_class

if TYPE_CHECKING:
    from pydantic import BaseModel

    from dyntable._internal.codec.compiled import FieldDef

__all__ = ["compile_build", "constructible", "model_builder"]

BuildFn = Callable[..., Any]

#: Field types whose decoded value needs no conversion by pydantic (``X | None`` too).
_PLAIN: frozenset[Any] = frozenset({
    str, int, float, bool, Decimal, datetime, bytes,
    list[str], list[int], set[str], dict[str, str],
})
#: Config keys that change no value a validation of these types returns.
_NEUTRAL_CONFIG = frozenset({
    "title", "ignored_types", "extra", "frozen", "populate_by_name", "validate_by_name",
    "validate_by_alias", "serialize_by_alias", "alias_generator", "loc_by_alias",
    "protected_namespaces", "defer_build", "validate_assignment", "from_attributes",
    "revalidate_instances", "arbitrary_types_allowed", "json_schema_extra",
    "json_schema_mode_override", "json_schema_serialization_defaults_required",
    "use_attribute_docstrings", "ser_json_timedelta", "ser_json_temporal",
    "ser_json_bytes", "ser_json_inf_nan", "val_json_bytes", "hide_input_in_errors",
    "plugin_settings", "schema_generator", "cache_strings", "model_title_generator",
    "field_title_generator",
})
# tag -> check of ``v`` after the decoder's expression: None when the type is certain.
_CHECKS: dict[str, str | None] = {
    "str": "if type(v) is not str: return None",
    "bool": "if type(v) is not bool: return None",
    "int": None, "float": None, "datetime": None, "bytes": None, "list_int": None,
    "ttl_datetime": None, "ttl_int": None,
    "decimal": "if not v.is_finite(): return None",
    "list_str": "''.join(v)",  # TypeError (-> validation) unless every element is a str
    "set_str": "''.join(v)",
    "dict_str": "''.join(v); ''.join(v.values())",
    "enum_str": None, "enum_int": None, "model": "if v is None: return None",
}


def _marker(value: Any) -> bool:
    """dyntable's own field markers (Version, TTL...), which pydantic ignores."""
    return type(value).__name__ == "_Marker" and type(value).__module__ == \
        "dyntable.schema.model"


def _plain_annotation(annotation: Any, seen: set[type[Any]]) -> bool:
    """``annotation`` (or ``annotation | None``) is a type the decoder fully converts."""
    inner = annotation
    if field_kind(annotation).optional:
        args = typing.get_args(annotation)
        if len(args) != 2:
            return False  # a union of several types: pydantic picks one
        inner = args[0] if args[1] is type(None) else args[1]
    if inner in _PLAIN:
        return True
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return kind_tag(inner) in ("enum_str", "enum_int")
    return is_model_class(inner) and constructible(inner, seen)


def constructible(model: type[BaseModel], seen: set[type[Any]] | None = None) -> bool:
    """True when decoding to ``model`` can skip pydantic's validation (see module doc).

    Models that hold themselves (directly or not) are validated as before.
    """
    seen = set() if seen is None else seen
    if model in seen:
        return False
    seen.add(model)
    from pydantic import BaseModel

    decorators = model.__pydantic_decorators__
    if (decorators.validators or decorators.field_validators or decorators.root_validators
            or decorators.model_validators or decorators.field_serializers
            or decorators.model_serializers):
        return False
    if model.__pydantic_post_init__ is not None or model.__private_attributes__:
        return False
    if getattr(model, "__pydantic_generic_metadata__", {}).get("parameters"):
        return False
    own_schema = model.__get_pydantic_core_schema__.__func__  # type: ignore[attr-defined]
    if own_schema is not BaseModel.__get_pydantic_core_schema__.__func__:  # type: ignore[attr-defined]
        return False
    if not _NEUTRAL_CONFIG.issuperset(model.model_config):
        return False
    for info in model.model_fields.values():
        if any(not _marker(m) for m in info.metadata) or info.validate_default:
            return False
        if info.default_factory is not None and info.default_factory_takes_validated_data:
            return False
        if not _plain_annotation(info.annotation, seen):
            return False
    seen.discard(model)
    return True


def _default(model: type[BaseModel], name: str, namespace: dict[str, Any],
             q: str) -> str | None:
    """The expression of field ``name``'s default, ``"NO"`` when only validation can
    give it, or ``None`` when the field is required."""
    info = model.model_fields[name]
    if info.is_required():
        return None
    if info.default_factory is not None:
        namespace[f"f{q}"] = info.default_factory
        return f"f{q}()"
    try:
        hash(info.default)
    except TypeError:
        # pydantic hands out a deep copy of an unhashable default: a new empty container
        # is that copy; other unhashable defaults are left to validation
        empties: dict[type[Any], str] = {list: "[]", dict: "{}", set: "set()"}
        empty = empties.get(type(info.default))
        return empty if empty is not None and not info.default else "NO"
    namespace[f"d{q}"] = info.default
    return f"d{q}"


def _block(model: type[BaseModel], fields: Sequence[FieldDef], *, tags: Mapping[str, str],
           subs: Mapping[str, Any], default_sets: Sequence[str], src: str, p: str,
           level: str, namespace: dict[str, Any], decode: Mapping[str, str],
           inline: bool) -> list[str]:
    """Lines that read ``model``'s fields from the map ``src`` and leave the instance in
    ``o{p}`` (or ``return None`` from the generated function). With ``inline``, nested
    models of the level below are built by inline lines too, not by a call."""
    body: list[str] = []
    unset = False
    for i, f in enumerate(fields):
        q = f"{p}_{i}"
        tag = tags[f.name]
        key, wire = repr(f.name), repr(f.wire)
        expr = decode[tag].replace("@IN", level)
        typed: list[str] | None = None
        if tag == "model":
            sub = subs[f.name]
            if inline:
                typed = [f"s{q} = @V['M']", *_nested_block(sub, f, src=f"s{q}", p=q,
                                                           namespace=namespace,
                                                           decode=decode),
                         f"v{q} = o{q}"]
            namespace[f"c{q}"] = sub
            expr = f"c{q}.build(@V['M'], {level})"
        elif tag in ("enum_str", "enum_int"):
            namespace[f"c{q}"] = field_kind(f.annotation).base
            expr = f"c{q}({expr})"
        if typed is None:
            check = _CHECKS[tag]
            typed = [f"v = {expr}", *([check] if check else []), f"v{q} = v"]
        default = _default(model, f.name, namespace, q)
        if default is None and not field_kind(f.annotation).optional and \
                f.name not in default_sets:
            body += [line.replace("@V", f"{src}[{wire}]") for line in typed]
            continue
        if f.name in default_sets:
            absent = [f"v{q} = set()"]
        elif default is None:  # optional without default: absent reads back as None
            absent = [f"v{q} = None"]
        elif default == "NO":
            absent = ["return None"]
        else:
            absent = [f"v{q} = {default}", f"gone{p}.append({key})"]
            unset = True
        body += [f"av = {src}.get({wire})", "if av is None:", *["    " + a for a in absent],
                 "else:", *["    " + t.replace("@V", "av") for t in typed]]
    namespace[f"CLS{p}"] = model
    namespace[f"KEYS{p}"] = frozenset(f.name for f in fields)
    extra = "{}" if model.model_config.get("extra") == "allow" else "None"
    fields_set = f"set(KEYS{p})"  # every field is in the instance's dict
    if unset:
        body.insert(0, f"gone{p} = []")
        fields_set = f"set(KEYS{p}).difference(gone{p})"  # defaults are not "set" fields
    values = ", ".join(f"{f.name!r}: v{p}_{i}" for i, f in enumerate(fields))
    return [*body, f"o{p} = NEW(CLS{p})", f"DICT(o{p}, {{{values}}})",
            f"FIELDS_SET(o{p}, {fields_set})", f"EXTRA(o{p}, {extra})",
            f"PRIVATE(o{p}, None)"]


def _nested_block(sub: Any, field: FieldDef, *, src: str, p: str,
                  namespace: dict[str, Any], decode: Mapping[str, str]) -> list[str]:
    """Inline lines building the nested model of ``field`` (one level down) from ``src``."""
    from dyntable._internal.codec.compiled import FieldDef as Def
    from dyntable._internal.codec.compiled import submodel

    model = field_kind(field.annotation).base
    fields = [Def(name, annotation, attribute=None if wire == name else wire)
              for name, annotation, _tag, _conv, wire in sub.fields]
    tags = {name: tag for name, _a, tag, _c, _w in sub.fields}
    subs = {f.name: submodel(field_kind(f.annotation).base) for f in fields
            if tags[f.name] == "model"}
    namespace[f"WIRE{p}"] = frozenset(f.wire for f in fields)
    return [f"if not WIRE{p}.issuperset({src}): return None",
            *_block(model, fields, tags=tags, subs=subs, default_sets=(), src=src, p=p,
                    level="2", namespace=namespace, decode=decode, inline=False)]


def compile_build(
    model: type[BaseModel],
    fields: Sequence[FieldDef],
    *,
    decode: Mapping[str, str],
    tags: Mapping[str, str],
    subs: Mapping[str, Any],
    default_sets: Sequence[str] = (),
    nested: bool = False,
) -> BuildFn:
    """``build(item) -> model instance | None`` (nested: ``build(m, L)``).

    ``decode`` gives the decoder's expression of each tag (``@V`` the value), ``tags`` each
    field's tag, ``subs`` the nested codecs (whose ``build`` is called; an item's own nested
    models are built inline). Only for :func:`constructible` models.
    """
    from pydantic import BaseModel

    slots = {name: BaseModel.__dict__[name].__set__ for name in BaseModel.__slots__}
    namespace: dict[str, Any] = {
        "NEW": object.__new__, "DICT": slots["__dict__"],
        "FIELDS_SET": slots["__pydantic_fields_set__"],
        "EXTRA": slots["__pydantic_extra__"], "PRIVATE": slots["__pydantic_private__"],
    }
    head = ["def build(m):"]
    if nested:
        namespace["WIRE"] = frozenset(f.wire for f in fields)
        head = ["def build(m, L):", f"if L > {MAX_CONTAINERS} or not WIRE.issuperset(m):",
                "    return None"]
    body = _block(model, fields, tags=tags, subs=subs, default_sets=default_sets, src="m",
                  p="", level="L + 1" if nested else "1", namespace=namespace,
                  decode=decode, inline=not nested)
    source = "\n    ".join([*head, *body, "return o"])
    from dyntable._internal.codec.compiled import build_function

    fn: BuildFn = build_function(source, "build", namespace)
    return fn


def model_builder(model: type[BaseModel], fields: Sequence[FieldDef], *,
                  default_sets: Sequence[str] = (), nested: bool = False) -> BuildFn | None:
    """The compiled ``build`` of ``model`` (fields without converters), or ``None`` when
    its items must be validated (see :func:`constructible`)."""
    from dyntable._internal.codec.compiled import DECODE, decode_tag, submodel

    if not constructible(model):
        return None
    tags = {f.name: decode_tag(f.annotation, f.ttl) for f in fields}
    subs: dict[str, Any] = {}
    for f in fields:
        if tags[f.name] == "model":
            sub = submodel(field_kind(f.annotation).base)
            if getattr(sub, "build", None) is None:
                return None
            subs[f.name] = sub
    return compile_build(model, fields, decode=DECODE, tags=tags, subs=subs,
                         default_sets=default_sets, nested=nested)
