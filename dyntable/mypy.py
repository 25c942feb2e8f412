"""A mypy plugin that type-checks the key fields given as keyword arguments.

Enable it in the mypy configuration (``pyproject.toml``)::

    [tool.mypy]
    plugins = ["dyntable.mypy"]

Then ``db.get(Order, usernme="ada")`` is an error naming the key fields of ``Order.primary``,
and so is a missing key field or a value of the wrong type (checked against the model field's
declared type). The calls checked are listed in :data:`METHODS` (by method name, on any class
of the ``dyntable`` package) and ``Model.<key>(...)`` (:class:`~dyntable.schema.keys.ModelKey`).

How it works: while mypy analyses a model class, each ``name = Key(...)`` of its body is
recorded in the class's mypy metadata (kept in mypy's cache), with the GSI attributes of the
class's ``table=`` read from the source of its literal ``Table(...)`` declaration (needed by
native multi-attribute keys). At a call, the key's fields come from those templates and their
types from the model's fields. Whatever the plugin cannot read (templates that are not string
literals, keys made by a function, a table it cannot find) leaves the call as it is without
the plugin: ``**key: Any``. A change to a table's GSI attributes alone is seen once mypy
analyses the models module again (a change to a ``Key`` is seen at once).

This module runs inside mypy: it imports mypy, and nothing of dyntable's runtime.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from mypy.errorcodes import ARG_TYPE, CALL_ARG
from mypy.messages import callable_name, format_type
from mypy.nodes import (
    ARG_NAMED,
    ARG_POS,
    ARG_STAR2,
    AssignmentStmt,
    CallExpr,
    Expression,
    MemberExpr,
    NameExpr,
    RefExpr,
    StrExpr,
    TypeInfo,
    Var,
)
from mypy.plugin import CheckerPluginInterface, DynamicClassDefContext, MethodSigContext, Plugin
from mypy.subtypes import is_subtype
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    Type,
    TypeOfAny,
    TypeType,
    get_proper_type,
)

__all__ = ["ITEM", "METHODS", "RANGE", "DyntablePlugin", "plugin"]

_KEY = "dyntable.schema.keys.Key"
_ITEM_KEY = "dyntable.schema.keys.ItemKey"
_MODEL_KEY_CALL = "dyntable.schema.keys.ModelKey.__call__"
_MODEL = "dyntable.schema.model.Model"
_META = "dyntable"
#: The template field rule of dyntable._internal.schema.templates: ``{name}`` or ``{name:spec}``.
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^{}]*)?\}")

ITEM = "item"
RANGE = "range"
#: Methods (of any class in the dyntable package) whose ``**key`` keywords are key fields,
#: by name. ``item``: the first argument is a model class and the keywords name one item by
#: its primary key (every field required); an instance or an ``ItemKey`` as first argument
#: takes no key keywords. ``range``: the first argument is ``Model.<key>`` and the keywords
#: are that key's fields (partition fields required, sort-key fields optional, from the
#: left). A method is checked only when its signature has a ``**`` parameter.
METHODS: dict[str, str] = {
    "get": ITEM,
    "delete": ITEM,
    "update": ITEM,
    "upsert": ITEM,
    "check": ITEM,
    "query": RANGE,
    "collection": RANGE,
}

_Decl = dict[str, Any]  # {"pk": str | None, "sk": str | None, "index": str | None}


class DyntablePlugin(Plugin):
    """Records key declarations of models and checks key keywords at calls."""

    def get_dynamic_class_hook(
        self, fullname: str
    ) -> Callable[[DynamicClassDefContext], None] | None:
        # Called for every ``name = <call>(...)`` assignment, class bodies included; the
        # base-class hook is left to other plugins (pydantic's uses it for the same classes).
        return _record_key if fullname == _KEY else None

    def get_method_signature_hook(
        self, fullname: str
    ) -> Callable[[MethodSigContext], FunctionLike] | None:
        if fullname == _MODEL_KEY_CALL:
            return _key_call_signature
        if fullname.startswith("dyntable."):
            kind = METHODS.get(fullname.rpartition(".")[2])
            if kind is not None:
                return partial(_method_signature, kind)
        return None


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point."""
    return DyntablePlugin


# -- recording declarations (semantic analysis) -----------------------------------------------


def _record_key(ctx: DynamicClassDefContext) -> None:
    """Store ``name = Key(...)`` of a class body in the class's metadata."""
    info = getattr(ctx.api, "type", None)  # the class being analysed, if any
    if not isinstance(info, TypeInfo) or not _in_body(info, ctx.call):
        return
    meta = info.metadata.setdefault(_META, {})
    meta.setdefault("keys", {})[ctx.name] = _read_key(ctx.call)
    table = info.defn.keywords.get("table")
    if table is not None:
        meta["gsis"] = _table_gsis(ctx.api.modules, table)


def _in_body(info: TypeInfo, call: CallExpr) -> bool:
    return any(isinstance(s, AssignmentStmt) and s.rvalue is call for s in info.defn.defs.body)


class _Unreadable(Exception):
    pass


def _read_key(call: CallExpr) -> _Decl | None:
    """``{"pk", "sk", "index"}`` of a ``Key(...)`` call, or ``None`` if not all literals.

    Other keyword arguments (options that do not change the key's fields) are ignored.
    """
    decl: _Decl = {"pk": None, "sk": None, "index": None}
    try:
        for name, kind, arg in zip(call.arg_names, call.arg_kinds, call.args, strict=True):
            if kind != ARG_NAMED:
                return None
            if name in decl:
                decl[name] = _literal(arg)
    except _Unreadable:
        return None
    return decl


def _literal(expr: Expression) -> str | None:
    if isinstance(expr, StrExpr):
        return expr.value
    if isinstance(expr, NameExpr) and expr.fullname == "builtins.None":
        return None
    if isinstance(expr, RefExpr) and isinstance(expr.node, Var) and isinstance(
            expr.node.final_value, str):
        return expr.node.final_value  # a ``Final`` string constant
    raise _Unreadable


def _table_gsis(modules: Mapping[str, Any], table: Expression) -> dict[str, list[list[str]]]:
    """GSI name -> [pk attributes, sk attributes] of the ``Table(...)`` that ``table`` names.

    Read from the source of the module declaring it (``shop = Table(..., gsis=[GSI(...)])``
    at module level), so it works when that module comes from mypy's cache. Empty when the
    declaration is not found or not literal.
    """
    if not isinstance(table, RefExpr) or not isinstance(table.node, Var):
        return {}
    module, _, name = table.node.fullname.rpartition(".")
    path = getattr(modules.get(module), "path", None)
    if not path or not os.path.isfile(path):
        return {}
    stat = os.stat(path)
    return _gsis_in_source(path, stat.st_mtime_ns, stat.st_size).get(name, {})


@lru_cache(maxsize=64)
def _gsis_in_source(path: str, mtime: int, size: int) -> dict[str, dict[str, list[list[str]]]]:
    """Every module-level ``NAME = Table(...)`` of a file: NAME -> its literal GSIs."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return {}
    tables: dict[str, dict[str, list[list[str]]]] = {}
    for stmt in tree.body:
        target: ast.expr
        value: ast.expr | None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            target, value = stmt.target, stmt.value
        else:
            continue
        if isinstance(target, ast.Name) and isinstance(value, ast.Call):
            tables[target.id] = _call_gsis(value)
    return tables


def _call_gsis(call: ast.Call) -> dict[str, list[list[str]]]:
    gsis: dict[str, list[list[str]]] = {}
    for kw in call.keywords:
        if kw.arg == "gsis" and isinstance(kw.value, ast.List | ast.Tuple):
            for item in kw.value.elts:
                read = _read_gsi(item)
                if read is not None:
                    gsis[read[0]] = [read[1], read[2]]
    return gsis


def _read_gsi(node: ast.expr) -> tuple[str, list[str], list[str]] | None:
    """``GSI("GSI3", pk=["tenant", "region"], sk=[...])`` -> (name, pk attrs, sk attrs)."""
    if not isinstance(node, ast.Call):
        return None
    args: dict[str, ast.expr] = dict(zip(("name", "pk", "sk"), node.args, strict=False))
    args.update({kw.arg: kw.value for kw in node.keywords if kw.arg is not None})
    name, pk, sk = _ast_names(args.get("name")), _ast_names(args.get("pk")), \
        _ast_names(args.get("sk"))
    if name is None or len(name) != 1 or not pk or sk is None:
        return None
    return name[0], pk, sk


def _ast_names(node: ast.expr | None) -> list[str] | None:
    """A string or a list of strings as a list; ``[]`` for no value; ``None``: not literal."""
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple):
        names = [e.value for e in node.elts
                 if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        if len(names) == len(node.elts):
            return names
    return None


# -- resolving a model's keys (type checking) -------------------------------------------------


@dataclass(frozen=True)
class _KeyFields:
    """The fields of one model key and their declared types."""

    label: str  # "Order.primary"
    partition: tuple[str, ...]
    sort: tuple[str, ...]  # sort-key fields that are not partition fields, in order
    types: dict[str, Type]

    @property
    def names(self) -> str:
        return ", ".join(self.partition + self.sort)


def _declared_keys(info: TypeInfo) -> dict[str, _Decl | None]:
    """Every key of a model (inherited ones too); ``None`` for a key the plugin cannot read."""
    keys: dict[str, _Decl | None] = {}
    for klass in reversed(info.mro):
        recorded = klass.metadata.get(_META, {}).get("keys", {})
        keys.update(recorded)
        for name, sym in klass.names.items():
            if name not in recorded and _is_key_attribute(sym.node):
                keys[name] = None  # a Key made some other way: unreadable
    return keys


def _is_key_attribute(node: object) -> bool:
    if not isinstance(node, Var) or node.type is None:
        return False
    typ = get_proper_type(node.type)
    return isinstance(typ, Instance) and typ.type.has_base(_KEY)


def _primary_name(keys: Mapping[str, _Decl | None]) -> str | None:
    """The primary key's attribute name; ``None`` when any key is unreadable."""
    if any(d is None for d in keys.values()):
        return None
    primaries = [name for name, d in keys.items() if d is not None and d["index"] is None]
    return primaries[0] if len(primaries) == 1 else None


def _gsis(info: TypeInfo) -> dict[str, list[list[str]]]:
    for klass in info.mro:
        meta = klass.metadata.get(_META, {})
        if "gsis" in meta:
            gsis: dict[str, list[list[str]]] = meta["gsis"]
            return gsis
    return {}


def _sources(info: TypeInfo, name: str, keys: Mapping[str, _Decl | None]) -> tuple[
        list[str], list[str]] | None:
    """(partition fields, sort fields) of key ``name``, as the runtime resolves them."""
    decl = keys.get(name)
    if decl is None:
        return None
    index, pk, sk = decl["index"], decl["pk"], decl["sk"]
    if index is not None:
        gsi = _gsis(info).get(index)
        native = gsi is not None and (len(gsi[0]) > 1 or len(gsi[1]) > 1)
        if gsi is not None and (native or (pk is None and sk is None)):
            return list(gsi[0]), list(gsi[1])  # native key: the GSI's attributes are fields
        if pk is None and sk is None:
            return None  # a native key on a GSI not found in a literal table declaration
        if gsi is None and pk is None:  # an LSI: the table's partition key
            primary = _primary_name(keys)
            primary_decl = keys.get(primary) if primary is not None else None
            pk = primary_decl["pk"] if primary_decl is not None else None
    if pk is None:
        return None
    return _FIELD.findall(pk), (_FIELD.findall(sk) if sk else [])


def _key_fields(info: TypeInfo, name: str | None) -> _KeyFields | None:
    keys = _declared_keys(info)
    if name is None:
        name = _primary_name(keys)
    sources = _sources(info, name, keys) if name is not None else None
    if sources is None:
        return None
    partition = tuple(dict.fromkeys(sources[0]))
    sort = tuple(f for f in dict.fromkeys(sources[1]) if f not in partition)
    types: dict[str, Type] = {}
    for field in partition + sort:
        sym = info.get(field)
        if sym is None or not isinstance(sym.node, Var):
            return None  # not a field: the model itself is refused at runtime
        types[field] = sym.node.type or AnyType(TypeOfAny.unannotated)
    return _KeyFields(f"{info.name}.{name}", partition, sort, types)


# -- checking calls ---------------------------------------------------------------------------


def _model_of(expr: Expression, api: CheckerPluginInterface) -> tuple[str, TypeInfo | None]:
    """What a first argument is: ("model", class), ("item", None) or ("other", None)."""
    if isinstance(expr, RefExpr) and isinstance(expr.node, TypeInfo):
        info: TypeInfo | None = expr.node
    else:
        typ = get_proper_type(api.get_expression_type(expr))
        info = None
        if isinstance(typ, CallableType) and typ.is_type_obj():
            info = typ.type_object()
        elif isinstance(typ, TypeType):
            item = get_proper_type(typ.item)
            info = item.type if isinstance(item, Instance) else None
        elif isinstance(typ, Instance) and (typ.type.has_base(_MODEL)
                                            or typ.type.has_base(_ITEM_KEY)):
            return "item", None
    if info is not None and info.has_base(_MODEL):
        return "model", info
    return "other", None


def _model_key(expr: Expression, api: CheckerPluginInterface) -> _KeyFields | None:
    """The key of an expression ``Model.<key>``."""
    if not isinstance(expr, MemberExpr):
        return None
    _, info = _model_of(expr.expr, api)
    if info is None or expr.name not in _declared_keys(info):
        return None
    return _key_fields(info, expr.name)


def _first_argument(call: CallExpr) -> Expression | None:
    if call.args and call.arg_kinds[0] == ARG_POS:
        return call.args[0]
    return None


def _method_signature(kind: str, ctx: MethodSigContext) -> FunctionLike:
    sig = ctx.default_signature
    call = ctx.context
    if ARG_STAR2 not in sig.arg_kinds or not isinstance(call, CallExpr):
        return sig
    first = _first_argument(call)
    if first is None:
        return sig
    if kind == RANGE:
        key = _model_key(first, ctx.api)
    else:
        what, info = _model_of(first, ctx.api)
        if what == "item":  # the item is named by its first argument: no key keywords
            return _without_star2(sig)
        key = _key_fields(info, None) if info is not None else None
    if key is not None:
        _check(ctx.api, call, sig, key, callable_name(sig) or "call", sort_optional=kind == RANGE)
    return sig


def _key_call_signature(ctx: MethodSigContext) -> FunctionLike:
    """``Order.primary(username=..., ...)``: every field of the key, nothing else."""
    call = ctx.context
    if isinstance(call, CallExpr):
        key = _model_key(call.callee, ctx.api)
        if key is not None:
            _check(ctx.api, call, ctx.default_signature, key, f'"{key.label}"',
                   sort_optional=False)
    return ctx.default_signature


def _without_star2(sig: CallableType) -> CallableType:
    keep = [i for i, k in enumerate(sig.arg_kinds) if k != ARG_STAR2]
    return sig.copy_modified(
        arg_types=[sig.arg_types[i] for i in keep],
        arg_kinds=[sig.arg_kinds[i] for i in keep],
        arg_names=[sig.arg_names[i] for i in keep],
    )


def _check(
    api: CheckerPluginInterface,
    call: CallExpr,
    sig: CallableType,
    key: _KeyFields,
    callee: str,
    *,
    sort_optional: bool,
) -> None:
    """Report unknown, missing, out-of-order and mistyped key keywords of ``call``.

    The signature is left with its ``**key: Any``, so mypy reports nothing more about them.
    """
    options = {n for n, k in zip(sig.arg_names, sig.arg_kinds, strict=True) if k != ARG_STAR2}
    given: dict[str, Expression] = {}
    spread = False  # ``**mapping``: which fields it holds is unknown
    for name, kind, arg in zip(call.arg_names, call.arg_kinds, call.args, strict=True):
        if kind == ARG_STAR2:
            spread = True
        elif kind == ARG_NAMED and name is not None and name not in options:
            given[name] = arg
    where = f"key fields of {key.label}: {key.names}"
    for name, arg in given.items():
        if name not in key.types:
            api.fail(f'Unexpected keyword argument "{name}" for {callee}; {where}', arg,
                     code=CALL_ARG)
        else:
            _check_value(api, callee, name, arg, key.types[name])
    if spread:
        return
    required = key.partition if sort_optional else key.partition + key.sort
    missing = [f for f in required if f not in given]
    if missing:
        fields = ", ".join(f'"{f}"' for f in missing)
        plural = "s" if len(missing) > 1 else ""
        api.fail(f"Missing key field{plural} {fields} for {callee}; {where}", call,
                 code=CALL_ARG)
    if sort_optional:
        _check_sort_order(api, key, given, callee)


def _check_sort_order(api: CheckerPluginInterface, key: _KeyFields,
                      given: Mapping[str, Expression], callee: str) -> None:
    """Sort-key fields are given from the left: a later one needs every one before it."""
    for i, field in enumerate(key.sort):
        if field in given:
            absent = [f for f in key.sort[:i] if f not in given]
            if absent:
                api.fail(
                    f'Key field "{field}" for {callee} needs "{absent[0]}": the sort-key fields '
                    f"of {key.label} are given from the left ({', '.join(key.sort)})",
                    given[field], code=CALL_ARG)


def _check_value(api: CheckerPluginInterface, callee: str, name: str, arg: Expression,
                 expected: Type) -> None:
    actual = api.get_expression_type(arg, type_context=expected)
    if not is_subtype(actual, expected, options=api.options):
        api.fail(
            f'Argument "{name}" to {callee} has incompatible type '
            f"{format_type(actual, api.options)}; expected {format_type(expected, api.options)}",
            arg, code=ARG_TYPE)
