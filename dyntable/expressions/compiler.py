"""The one place expression text is written.

A :class:`Compiler` serves one request: condition, filter, key condition, update and
projection share its ``#n`` / ``:v`` placeholder maps. Paths are checked against the model
and values encoded with the field's codec before anything is sent; no user data ever enters
an expression string.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from dyntable._internal.codec.fields import Encoder, field_kind, make_encoder
from dyntable._internal.codec.pydantic_loaded import is_model_class
from dyntable._internal.codec.values import to_av
from dyntable.errors import ExpressionError, InvalidValueError
from dyntable.expressions.conditions import (
    COMPARATORS,
    And,
    Between,
    Compare,
    Compiled,
    Condition,
    Encoded,
    Function,
    In,
    Not,
    Or,
    Size,
)
from dyntable.expressions.paths import IfNotExists, ListAppend, Minus, Path, Plus
from dyntable.expressions.updates import Action

if TYPE_CHECKING:
    from dyntable._internal.codec.items import ItemCodec

__all__ = ["MAX_EXPRESSION_LENGTH", "Compiler"]

MAX_EXPRESSION_LENGTH = 4096
MAX_IN_OPERANDS = 100
AV = dict[str, Any]
_ANY: Any = object()


class Compiler:
    """Compiles expression nodes for one request against one model (or none)."""

    def __init__(self, codec: ItemCodec[Any] | None = None, *, prefix: str = "") -> None:
        self.codec = codec
        self.model_name = codec.model.__name__ if codec else "item"
        self.names: dict[str, str] = {}
        self._name_ids: dict[str, str] = {}
        self.values: dict[str, AV] = {}
        self._encoders: dict[int, Encoder] = {}
        # Placeholders are #<prefix>n<i> / :<prefix>v<i>: a fragment compiled once with a
        # prefix of its own (see compiled()) never clashes with a request's placeholders.
        self._n = f"#{prefix}n"
        self._v = f":{prefix}v"
        self._count = 0

    # -- placeholders ------------------------------------------------------------------

    def _name(self, name: str) -> str:
        ph = self._name_ids.get(name)
        if ph is None:
            ph = f"{self._n}{len(self._name_ids)}"
            self._name_ids[name] = ph
            self.names[ph] = name
        return ph

    def value(self, av: AV) -> str:
        """A new ``:v`` placeholder for an encoded value."""
        ph = f"{self._v}{self._count}"
        self._count += 1
        self.values[ph] = av
        return ph

    def path(self, path: Path) -> str:
        """``#n0.#n1[2]`` for a path (checked against the model; a field is named by the
        attribute that stores it, its alias when it has one)."""
        self.resolve(path)
        out = ""
        annotation: Any = _ANY
        for e in path.elements:
            if isinstance(e, int):
                out += f"[{e}]"
            elif not out:
                out = self._name(self.attribute(path))
                if not path.raw and self.codec is not None:
                    annotation = self.codec.spec.fields[e].annotation
                continue
            else:
                out += "." + self._name(_map_key(annotation, e))
            if annotation is not _ANY:
                annotation = _step(annotation, e, "", self.model_name)
        return out

    def attribute(self, path: Path) -> str:
        """The attribute storing the first field of ``path``."""
        head = path.elements[0]
        assert isinstance(head, str)
        if path.raw or self.codec is None:
            return head
        spec = self.codec.spec.fields[head]
        if not spec.stored:
            attrs = [a for k in self.codec.spec.keys.values() if head in k.fields
                     for a, t in zip(k.attrs, k.pk_templates + k.sk_templates, strict=False)
                     if head in t.fields]
            raise ExpressionError(
                f"{self.model_name}.{head} is kept only inside key attribute(s) "
                f"{sorted(set(attrs))} (store_fields=False): an expression cannot name it; "
                "query by the key instead (key fields, sk_prefix, between)"
            )
        return spec.attribute

    # -- model checks ------------------------------------------------------------------

    def resolve(self, path: Path) -> Any:
        """The annotation at ``path`` (``_ANY`` when unknown); ExpressionError if invalid."""
        if not path.elements or not isinstance(path.elements[0], str):
            raise ExpressionError("a path starts with a field name")
        if path.raw or self.codec is None:
            return _ANY
        fields = self.codec.spec.fields
        head = path.elements[0]
        if head not in fields:
            from dyntable._internal.codec.items import suggest

            raise ExpressionError(
                f"{self.model_name} has no field {head!r}{suggest([head], fields)} "
                f"(fields: {sorted(fields)})"
            )
        annotation: Any = fields[head].annotation
        walked = head
        for e in path.elements[1:]:
            annotation = _step(annotation, e, walked, self.model_name)
            walked += f"[{e}]" if isinstance(e, int) else f".{e}"
        return annotation

    def encode(self, value: Any, path: Path | None, *, element: bool = False) -> AV:
        """Encode ``value`` as the type found at ``path`` (its element type with ``element``)."""
        if isinstance(value, Path):
            raise ExpressionError("a path cannot be used here as a value")
        if (path is not None and not path.raw and self.codec is not None and not element
                and len(path.elements) == 1 and path.elements[0] in self.codec.converters):
            # a field stored by a format, type hook or serializer: as the item stores it
            return self.codec.encode_field(str(path.elements[0]), value)
        annotation = _ANY if path is None else self.resolve(path)
        if element and annotation is not _ANY:
            args = typing.get_args(field_kind(annotation).base)
            annotation = args[0] if args else _ANY
        is_ttl = (
            path is not None and not path.raw and self.codec is not None
            and len(path.elements) == 1
            and self.codec.spec.fields[path.field].is_ttl and not element
        )
        try:
            if annotation is _ANY:
                return to_av(value, str(path) if path else "")
            key = id(annotation) * 2 + int(is_ttl)
            enc = self._encoders.get(key)
            if enc is None:
                enc = make_encoder(annotation, str(path), ttl=is_ttl)
                self._encoders[key] = enc
            av = enc(value)
        except InvalidValueError as exc:
            raise InvalidValueError(f"{self.model_name}: {exc}") from None
        if av is None:
            raise InvalidValueError(
                f"{self.model_name}.{path}: an empty set cannot be used in an expression "
                "(DynamoDB has no empty sets)"
            )
        return av

    # -- conditions ----------------------------------------------------------------------

    def _operand(self, operand: Any, typed_by: Path | None) -> str:
        if isinstance(operand, Path):
            return self.path(operand)
        if isinstance(operand, Encoded):
            return self.value(operand.av)
        if isinstance(operand, Size):
            return f"size({self.path(operand.path)})"
        if isinstance(operand, Condition):
            raise ExpressionError("a condition cannot be compared as a value")
        return self.value(self.encode(operand, typed_by))

    def condition(self, cond: Condition) -> str:
        """Compile a condition; checks DynamoDB's expression length."""
        text = self._cond(cond)
        _check_length("condition", text)
        return text

    def _cond(self, cond: Condition) -> str:
        if isinstance(cond, Compare):
            if cond.op not in COMPARATORS:
                raise ExpressionError(f"unknown comparator {cond.op!r}")
            typed = cond.lhs if isinstance(cond.lhs, Path) else (
                cond.rhs if isinstance(cond.rhs, Path) else None)
            if isinstance(cond.lhs, Size) or isinstance(cond.rhs, Size):
                typed = None
            return f"{self._operand(cond.lhs, typed)} {cond.op} {self._operand(cond.rhs, typed)}"
        if isinstance(cond, Between):
            typed = cond.operand if isinstance(cond.operand, Path) else None
            return (
                f"{self._operand(cond.operand, typed)} BETWEEN {self._operand(cond.low, typed)} "
                f"AND {self._operand(cond.high, typed)}"
            )
        if isinstance(cond, In):
            if not cond.values:
                raise ExpressionError("IN needs at least one value")
            if len(cond.values) > MAX_IN_OPERANDS:
                raise ExpressionError(
                    f"IN takes at most {MAX_IN_OPERANDS} values, got {len(cond.values)}"
                )
            typed = cond.operand if isinstance(cond.operand, Path) else None
            left = self._operand(cond.operand, typed)
            right = ", ".join(self._operand(v, typed) for v in cond.values)
            return f"{left} IN ({right})"
        if isinstance(cond, Function):
            return self._function(cond)
        if isinstance(cond, And):
            return " AND ".join(self._group(p) for p in cond.parts)
        if isinstance(cond, Or):
            return " OR ".join(self._group(p) for p in cond.parts)
        if isinstance(cond, Not):
            return f"NOT {self._group(cond.part)}"
        if isinstance(cond, Compiled):
            self.names.update(cond.names)
            self.values.update(cond.values)
            return cond.text
        raise ExpressionError(f"not a condition: {cond!r}")

    def _group(self, cond: Condition) -> str:
        text = self._cond(cond)
        return f"({text})" if isinstance(cond, (And, Or, Not, Compiled)) else text

    def compiled(self, cond: Condition) -> Compiled:
        """``cond`` compiled once, to be reused by many requests (give this compiler a
        ``prefix`` no other compiler of those requests uses)."""
        text = self.condition(cond)
        return Compiled(text, tuple(self.names.items()), tuple(self.values.items()))

    def _function(self, fn: Function) -> str:
        target = self.path(fn.path)
        if not fn.has_arg:
            return f"{fn.name}({target})"
        if fn.name == "attribute_type":
            return f"{fn.name}({target}, {self.value({'S': fn.arg})})"
        if fn.name == "begins_with":
            if isinstance(fn.arg, Encoded):
                return f"{fn.name}({target}, {self.value(fn.arg.av)})"
            if not isinstance(fn.arg, (str, bytes)):
                raise ExpressionError("begins_with takes a string or bytes prefix")
            return f"{fn.name}({target}, {self.value(to_av(fn.arg))})"
        if fn.name == "contains":
            annotation = self.resolve(fn.path)
            kind = field_kind(annotation) if annotation is not _ANY else None
            element = kind is not None and (
                kind.is_set or kind.origin in (list, tuple) or kind.base in (list, tuple)
            )
            if isinstance(fn.arg, Path):
                return f"contains({target}, {self.path(fn.arg)})"
            av = self.encode(fn.arg, fn.path, element=True) if element else to_av(fn.arg)
            return f"contains({target}, {self.value(av)})"
        raise ExpressionError(f"unknown function {fn.name!r}")

    def key_condition(self, cond: Condition) -> str:
        """Compile a query's key condition (equality on the partition, at most one sort-key
        comparison; both built by :mod:`dyntable._internal.operations.query`)."""
        return self.condition(cond)

    # -- updates ---------------------------------------------------------------------------

    def update(self, actions: Sequence[Action]) -> str:
        """Compile update actions into ``SET ... REMOVE ... ADD ... DELETE ...``."""
        clauses: dict[str, list[str]] = {"SET": [], "REMOVE": [], "ADD": [], "DELETE": []}
        seen: dict[str, str] = {}
        for a in actions:
            key = str(a.path)
            for other in seen:
                if key == other or key.startswith(other + ".") or other.startswith(key + ".") \
                        or key.startswith(other + "[") or other.startswith(key + "["):
                    raise ExpressionError(
                        f"update touches {key!r} and {other!r}: DynamoDB refuses overlapping "
                        "paths in one update"
                    )
            seen[key] = a.kind
            target = self.path(a.path)
            if a.kind == "SET":
                clauses["SET"].append(f"{target} = {self._set_value(a.value, a.path)}")
            elif a.kind == "REMOVE":
                clauses["REMOVE"].append(target)
            elif a.kind in ("ADD", "DELETE"):
                av = self.encode(a.value, a.path)
                if a.kind == "ADD" and not ("N" in av or "SS" in av or "NS" in av or "BS" in av):
                    raise ExpressionError(f"ADD {a.path}: takes a number or a set")
                if a.kind == "DELETE" and not ("SS" in av or "NS" in av or "BS" in av):
                    raise ExpressionError(f"DELETE {a.path}: takes a set of elements to remove")
                clauses[a.kind].append(f"{target} {self.value(av)}")
            else:
                raise ExpressionError(f"unknown update action {a.kind!r}")
        text = " ".join(f"{k} {', '.join(v)}" for k, v in clauses.items() if v)
        if not text:
            raise ExpressionError("an update needs at least one action")
        _check_length("update", text)
        return text

    def _set_value(self, value: Any, path: Path) -> str:
        if isinstance(value, Path):
            return self.path(value)
        if isinstance(value, Plus):
            return f"{self._set_value(value.left, path)} + {self._set_value(value.right, path)}"
        if isinstance(value, Minus):
            return f"{self._set_value(value.left, path)} - {self._set_value(value.right, path)}"
        if isinstance(value, IfNotExists):
            return f"if_not_exists({self.path(value.path)}, " \
                   f"{self._set_value(value.default, value.path)})"
        if isinstance(value, ListAppend):
            return f"list_append({self._set_value(value.left, path)}, " \
                   f"{self._set_value(value.right, path)})"
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _AV_TAGS \
                and isinstance(path, Path) and path.raw:
            return self.value(value)
        return self.value(self.encode(value, path))

    # -- projections ---------------------------------------------------------------------

    def projection(self, paths: Iterable[Path | str]) -> str:
        """``#n0, #n1.#n2`` for the attributes to read."""
        parts = []
        for p in paths:
            path = p if isinstance(p, Path) else Path((p,), raw=True)
            parts.append(self.path(path))
        if not parts:
            raise ExpressionError("a projection needs at least one attribute")
        text = ", ".join(dict.fromkeys(parts))
        _check_length("projection", text)
        return text

    def params(self) -> dict[str, Any]:
        """``ExpressionAttributeNames`` / ``ExpressionAttributeValues`` (when used)."""
        out: dict[str, Any] = {}
        if self.names:
            out["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            out["ExpressionAttributeValues"] = dict(self.values)
        return out


_AV_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "L", "M", "SS", "NS", "BS"})


def _check_length(what: str, text: str) -> None:
    if len(text.encode("utf-8")) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"{what} expression is {len(text)} characters; DynamoDB allows "
            f"{MAX_EXPRESSION_LENGTH} bytes"
        )


def _map_key(annotation: Any, element: str) -> str:
    """The map key of nested field ``element`` in a value of type ``annotation``: its
    pydantic alias when the value is a model whose field has one."""
    if annotation is _ANY or annotation is Any:
        return element
    base = field_kind(annotation).base
    if is_model_class(base):
        info = base.model_fields.get(element)
        if info is not None and isinstance(info.alias, str):
            return info.alias
    return element


def _step(annotation: Any, element: str | int, walked: str, model: str) -> Any:
    """The annotation one path step further, or ExpressionError."""
    if annotation is _ANY or annotation is Any:
        return _ANY
    kind = field_kind(annotation)
    base = kind.base
    if base is Any or base is _ANY:
        return _ANY
    origin = kind.origin
    args = kind.args
    if isinstance(element, int):
        if origin in (list, tuple) or base in (list, tuple):
            if origin is tuple and args and args[-1] is not Ellipsis:
                if element >= len(args):
                    raise ExpressionError(f"{model}.{walked} has no index {element}")
                return args[element]
            return args[0] if args else _ANY
        raise ExpressionError(f"{model}.{walked} is not a list; [{element}] does not apply")
    if is_model_class(base):
        if element not in base.model_fields:
            raise ExpressionError(
                f"{model}.{walked} ({base.__name__}) has no field {element!r} "
                f"(fields: {sorted(base.model_fields)})"
            )
        info = base.model_fields[element]
        # with its markers: a nested field's format or type hook applies to its values
        if info.metadata:
            marked = (info.annotation, *info.metadata)
            return typing.Annotated[marked]
        return info.annotation
    if origin is dict or base is dict or (origin is not None and str(origin).endswith("Mapping'>")):
        return args[1] if len(args) == 2 else _ANY
    raise ExpressionError(
        f"{model}.{walked} is a {getattr(base, '__name__', base)}; it has no attribute "
        f"{element!r}"
    )
