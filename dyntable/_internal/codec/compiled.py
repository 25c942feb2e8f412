"""Encode and decode functions generated once per model class from its field annotations.

The generated source inlines the common cases (``str``, ``bool``, ``int``, ``Decimal``,
``datetime``, string and int enums and literals) and calls a typed encoder or decoder for
the rest, so an item costs no per-field function call and no runtime type dispatch.
Encoders also return an upper bound of the item's size in bytes, so the 400 KB check
needs no second walk over the item.

A field with its own conversion (a storage format, a type hook or a pydantic serializer;
see :mod:`~dyntable._internal.codec.formats`) skips the inline cases and calls its converter;
a model with serializer fields dumps them with one pydantic call per item. Fields without
one compile exactly as before, so models that use none of these pay nothing for them.

Field names appear in the generated source only as string literals (``repr``); helpers
are passed in the namespace. The semantics match
:func:`~dyntable._internal.codec.fields.make_encoder` and
:func:`~dyntable._internal.codec.fields.make_decoder` field by field (the tests compare them).
"""

from __future__ import annotations

import sys
import threading
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from dyntable._internal.codec.containers import SizedEncoder, generic_encoder
from dyntable._internal.codec.fields import field_kind, kind_tag, make_encoder, sized_encoder
from dyntable._internal.codec.limits import (
    MAX_CONTAINERS,
    av_bound,
    check_decimal,
    nesting_error,
    number_text,
    utf8_ok,
)
from dyntable._internal.codec.pydantic_loaded import is_model_class
from dyntable._internal.codec.values import b_value, from_av, parse_datetime, to_av
from dyntable.errors import InvalidValueError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from dyntable._internal.codec.formats import Converter

__all__ = [
    "DECODE",
    "FieldDef",
    "KeyDef",
    "SubCodec",
    "build_function",
    "compile_encoder",
    "compile_values",
    "decode_tag",
    "encode_submodel",
    "key_size_bound",
    "submodel",
]

AV = dict[str, Any]
Item = dict[str, AV]


class FieldDef(NamedTuple):
    """One field as the generated code sees it."""

    name: str
    annotation: Any
    ttl: bool = False
    #: the attribute name on the wire (``None``: the field name)
    attribute: str | None = None
    #: the field's ``Annotated`` markers (formats, type hooks)
    metadata: tuple[Any, ...] = ()
    #: the field's own conversion (a format, type hook or pydantic serializer), if any
    converter: Converter | None = None

    @property
    def wire(self) -> str:
        """The attribute name on the wire."""
        return self.attribute or self.name

#: A key attribute: (attribute, plain template field or None, literal before, literal
#: after, size limit, checked builder). Plain templates (``"TENANT#{tenant}"``) are filled
#: inline when the value is a non-empty ASCII str within the limit, else by the builder.
KeyDef = tuple[str, "str | None", str, str, int, Callable[[Mapping[str, Any]], AV]]
#: ``encode(values)``; a nested encoder also takes the level (see :func:`compile_encoder`)
EncodeFn = Callable[..., tuple[Item, int]]
#: ``values(item)``; a nested decoder also takes the level (see :func:`compile_values`)
ValuesFn = Callable[..., dict[str, Any]]

_DATETIME = "'%04d-%02d-%02dT%02d:%02d:%02d.%06dZ' % (v.year, v.month, v.day, v.hour, " \
    "v.minute, v.second, v.microsecond)"
# tag -> (condition on ``v``, statements). @K: the field name literal; @C: the enum or model
# class; @S: the nested model's codec, @E its compiled encoder; @FALLBACK: the typed
# encoder's call. Nesting (DynamoDB's 32 levels): @ROOM is the condition that one more map
# or list fits (empty for an item's own attributes), @IN the number of maps and lists
# around the fields of a nested model, @AT the number around ``v``.
# ``"".join`` checks that every element is a str and gives their total length at C speed;
# text that is not ASCII is searched for lone surrogates (not UTF-8): those take the
# fallback, which names the field in its error.
_JOINED = ("try:", "    t = ''.join(v)", "    t = len(t) if t.isascii() or utf8_ok(t) else -1",
           "except TypeError:", "    t = -1")
_STORE_MAP = ("item[@K] = {'M': r[0]}", "n += 3 + len(r[0]) + r[1]")
# Inside a nested model an error goes straight up to the item's encoder, which re-encodes
# the failing attribute field by field to name the failing path (once, not at every level).
_NESTED_MODEL = ("r = @E(v.__dict__, @IN)", *_STORE_MAP)
_INLINE: dict[str, tuple[str, tuple[str, ...]]] = {
    "str": ("type(v) is str and (v.isascii() or utf8_ok(v))",
            ("item[@K] = {'S': v}", "s += len(v)")),
    "bool": ("type(v) is bool", ("item[@K] = {'BOOL': v}", "n += 1")),
    "int": ("type(v) is int and -BIG < v < BIG",
            ("t = str(v)", "item[@K] = {'N': t}", "n += len(t) + 2")),
    "float": ("type(v) is float",
              ("t = number_text(v, @K)", "item[@K] = {'N': t}", "n += len(t) + 2")),
    "decimal": ("type(v) is Decimal",
                ("t = check_decimal(v, @K)", "item[@K] = {'N': t}", "n += len(t) + 2")),
    "datetime": ("type(v) is datetime and v.tzinfo is UTC",
                 (f"item[@K] = {{'S': {_DATETIME}}}", "n += 27")),
    "enum_str": ("type(v) is @C", ("t = v._value_", "item[@K] = {'S': t}", "s += len(t)")),
    "enum_int": ("type(v) is @C", ("t = str(v._value_)", "item[@K] = {'N': t}",
                                  "n += len(t) + 2")),
    "list_str": ("type(v) is list@ROOM", (*_JOINED, "if t < 0:", "    @FALLBACK", "else:",
                                     "    item[@K] = {'L': [{'S': x} for x in v]}",
                                     "    n += 3 + len(v) + 4 * t")),
    "set_str": ("(type(v) is set or type(v) is frozenset) and v",
                (*_JOINED, "if t < 0:", "    @FALLBACK", "else:", "    item[@K] = {'SS': list(v)}",
                 "    n += 4 * t")),
    "model": ("type(v) is @C@ROOM", (
        "try:", "    r = @E(v.__dict__, @IN)",
        "except Exception:", "    r = @S.encode(v, @K, @AT)",  # reports the failing field
        *_STORE_MAP)),
}
# tag -> expression decoding @V (errors fall back to the untyped ``from_av``).
_DECODE: dict[str, str] = {
    "str": "@V['S']",
    "enum_str": "@V['S']",
    "bool": "@V['BOOL']",
    "int": "int(@V['N'])",
    "enum_int": "int(@V['N'])",
    "float": "float(@V['N'])",
    "decimal": "Decimal(@V['N'])",
    # fromisoformat reads the trailing "Z" itself from Python 3.11 on (see parse_datetime)
    "datetime": ("datetime.fromisoformat(@V['S'])" if sys.version_info >= (3, 11)
                 else "parse_datetime(@V['S'])"),
    "bytes": "b_value(@V['B'])",
    "list_str": "[x['S'] for x in @V['L']]",
    "list_int": "[int(x['N']) for x in @V['L']]",
    "set_str": "set(@V['SS'])",
    "dict_str": "{k: x['S'] for k, x in @V['M'].items()}",
    "model": "@C.values(@V['M'], @IN)",
    "ttl_datetime": "datetime.fromtimestamp(int(Decimal(@V['N'])), UTC)",
    "ttl_int": "int(Decimal(@V['N']))",
}


#: the decoders' expressions by field tag (also read by :mod:`.construct`)
DECODE: Mapping[str, str] = _DECODE


def key_size_bound(av: AV) -> int:
    """A bound of a scalar value's size (a key attribute): S at 4 bytes a character."""
    for v in av.values():
        return 4 * len(v) + 2
    return 0


_NAMESPACE: dict[str, Any] = {
    "BIG": 10**38,
    "UTC": timezone.utc,
    "Decimal": Decimal,
    "datetime": datetime,
    "GUARDED": (KeyError, TypeError, ValueError, ArithmeticError),
    "b_value": b_value,
    "check_decimal": check_decimal,
    "from_av": from_av,
    "key_size_bound": key_size_bound,
    "number_text": number_text,
    "parse_datetime": parse_datetime,
    "utf8_ok": utf8_ok,
    "too_deep": lambda: InvalidValueError(
        f"stored value nested deeper than {MAX_CONTAINERS} maps or lists: DynamoDB cannot "
        "hold it, so the item did not come from DynamoDB intact"
    ),
}
# Nesting placeholders of an item's own attributes (no map or list around them) and of the
# fields of a nested model (``L`` maps and lists around them, a parameter).
_TOP = {"@ROOM": "", "@IN": "1", "@AT": "0"}
_NESTED = {"@ROOM": f" and L < {MAX_CONTAINERS}", "@IN": "L + 1", "@AT": "L"}


def _fill(line: str, marks: Mapping[str, str]) -> str:
    for mark, text in marks.items():
        line = line.replace(mark, text)
    return line


def _name_size(name: str) -> int:
    return len(name.encode("utf-8"))


def _field_encoder(name: str, annotation: Any, ttl: bool) -> SizedEncoder:
    """The typed encoder called when a field's inline case does not apply."""
    if not ttl and kind_tag(annotation) == "model":
        return generic_encoder(name)  # a subclass instance: encoded by its own class
    return sized_encoder(annotation, name, ttl=ttl)


def _model_class(annotation: Any) -> type[BaseModel]:
    base: type[BaseModel] = field_kind(annotation).base
    return base


def _encode_block(i: int, f: FieldDef, lenient: bool, nested: bool) -> list[str]:
    annotation, ttl = f.annotation, f.ttl
    key, field_key = repr(f.wire), repr(f.name)
    get = f"d.get({field_key})" if lenient else f"d[{field_key}]"
    marks = _NESTED if nested else _TOP
    fallback = f"r = e{i}(v, L)" if nested else f"r = e{i}(v)"
    call = [fallback, "if r is not None:", f"    item[{key}] = r[0]", "    n += r[1]"]
    lines = [f"v = {get}", "if v is not None:"]
    if f.converter is not None:  # its own conversion: no inline case
        if f.converter.serialize is not None:  # its serialized value (see compile_encoder)
            lines = [f"v = sd.get({field_key})", "if v is not None:"]
        return lines + ["    " + c for c in call]
    inline = None if ttl else _INLINE.get(kind_tag(annotation))
    if inline is None:
        return lines + ["    " + c for c in call]
    cond, body = inline
    if nested and kind_tag(annotation) == "model":
        body = _NESTED_MODEL
    # Every inline condition checks the value's type, so None never meets it: the common
    # case costs no separate None test, which only the other values reach.
    lines = [lines[0], f"if {_fill(cond, marks).replace('@C', f'c{i}')}:"]
    for b in body:
        if b.strip() == "@FALLBACK":
            indent = "    " + b[: b.index("@")]
            lines += [indent + c for c in call]
        else:
            lines.append("    " + _fill(b, marks).replace("@C", f"c{i}")
                         .replace("@E", f"se{i}").replace("@S", f"sc{i}").replace("@K", key))
    lines.append("elif v is not None:")
    return lines + ["    " + c for c in call]


def build_function(source: str, name: str, namespace: dict[str, Any]) -> Any:
    """Compile generated ``source`` and return its function ``name`` (helpers of this
    module's namespace are visible to it)."""
    scope = {**_NAMESPACE, **namespace}
    exec(compile(source, f"<dyntable {name}>", "exec"), scope)  # generated: see module doc
    return scope[name]


def _key_block(j: int, key: KeyDef) -> list[str]:
    attr, plain, before, after, limit, _builder = key
    slow = [f"av = item[{attr!r}] = k{j}(d)", "n += key_size_bound(av)"]
    literal = before + after
    if plain is None or not literal.isascii():
        return slow
    # The checked builder refuses a value holding a separator of the template (any literal
    # character that is not a letter or digit, as Template.separators): such a value
    # takes it. Plain ASCII literals: the key is ASCII when the value is.
    no_separator = "".join(
        f" and {c!r} not in v" for c in dict.fromkeys(literal) if not c.isalnum()
    )
    text = " + ".join(x for x in (repr(before), "v", repr(after)) if x != repr(""))
    return [
        f"v = d.get({plain!r})",
        f"if type(v) is str and v and len(v) <= {limit - len(literal)}{no_separator}"
        " and v.isascii():",
        f"    item[{attr!r}] = {{'S': {text}}}",
        f"    s += len(v) + {len(literal)}",
        "else:",
        *["    " + line for line in slow],
    ]


def compile_encoder(
    fields: Sequence[FieldDef],
    *,
    keys: Sequence[KeyDef] = (),
    lenient: bool = False,
    nested: bool = False,
) -> EncodeFn:
    """``encode(values) -> (item, size bound)`` for the given fields, then key attributes.

    ``None`` values are left out. ``lenient`` (nested models) treats a missing field as
    ``None``; otherwise a missing field raises KeyError. A ``nested`` encoder is the map of
    a nested model: ``encode(values, L)``, ``L`` being the number of maps and lists around
    its fields, and refuses maps and lists nested beyond DynamoDB's limit.
    """
    namespace: dict[str, Any] = {}
    body: list[str] = []
    for i, f in enumerate(fields):
        annotation, ttl = f.annotation, f.ttl
        if f.converter is not None:
            namespace[f"e{i}"] = f.converter.sized
            if f.converter.serialize is not None and "ser" not in namespace:
                # One call dumps all the model's serializer fields (once they are present).
                namespace["ser"] = f.converter.serialize
                if not lenient:
                    body += [f"d[{g.name!r}]" for g in fields
                             if g.converter is not None and g.converter.serialize]
                body.append("sd = ser(d)")
            body += _encode_block(i, f, lenient, nested)
            continue
        namespace[f"e{i}"] = _field_encoder(f.name, annotation, ttl)
        namespace[f"c{i}"] = field_kind(annotation).base
        if not ttl and kind_tag(annotation) == "model":
            sub = namespace[f"sc{i}"] = submodel(namespace[f"c{i}"])
            # a model nesting itself is still compiling: look its encoder up at run time
            namespace[f"se{i}"] = getattr(sub, "_encode", None) or _LateEncode(sub)
        body += _encode_block(i, f, lenient, nested)
    for j, key in enumerate(keys):
        namespace[f"k{j}"] = key[5]
        body += _key_block(j, key)
    names = sum(_name_size(f.wire) for f in fields) + sum(_name_size(k[0]) for k in keys)
    head = "def encode(d, L=1):" if nested else "def encode(d):"
    source = "\n    ".join(
        [head, "item = {}", "s = 0", f"n = {names}", *body, "return item, 4 * s + n"]
    )
    fn: EncodeFn = build_function(source, "encode", namespace)
    return fn


def decode_tag(annotation: Any, ttl: bool) -> str:
    """The :data:`DECODE` entry of a field (TTL fields have their own)."""
    if ttl:
        return "ttl_datetime" if field_kind(annotation).base is datetime else "ttl_int"
    return kind_tag(annotation)


def _decode_block(
    i: int, f: FieldDef, tag: str, default_set: bool, required: bool, nested: bool,
    own: bool = False,
) -> list[str]:
    wire, key = repr(f.wire), repr(f.name)
    expr = _DECODE.get(tag)
    absent = ["else:", f"    out[{key}] = set()"] if default_set else []
    from_av = "from_av(av, L)" if nested else "from_av(av)"
    if own:  # its own decoder (``h``): a converter, or models in a container
        call = f"h{i}(av, L)" if nested else f"h{i}(av)"
        return [f"av = m.get({wire})", "if av is not None:", f"    out[{key}] = {call}",
                *absent]
    if expr is None:
        return [f"av = m.get({wire})", "if av is not None:", f"    out[{key}] = {from_av}",
                *absent]
    expr = _fill(expr, _NESTED if nested else _TOP).replace("@C", f"c{i}")
    if required:
        # Usually present: one lookup; a missing attribute lands in the except branch.
        return [
            "try:",
            f"    out[{key}] = {expr.replace('@V', f'm[{wire}]')}",
            "except GUARDED:",
            f"    av = m.get({wire})",
            "    if av is not None:",
            f"        out[{key}] = {from_av}",
            *["    " + line for line in absent],
        ]
    return [
        f"av = m.get({wire})",
        "if av is not None:",
        "    try:",
        f"        out[{key}] = {expr.replace('@V', 'av')}",
        "    except GUARDED:",
        f"        out[{key}] = {from_av}",
        *absent,
    ]


def compile_values(
    fields: Sequence[FieldDef],
    *,
    required: Collection[str] = (),
    default_sets: Collection[str] = (),
    extras: bool = False,
    nested: bool = False,
) -> ValuesFn:
    """``values(item) -> dict`` of field values, ready for model validation.

    ``required`` fields are expected to be present (only a speed hint). Fields named in
    ``default_sets`` read back as ``set()`` when absent; with ``extras`` attributes that
    are not fields are decoded by runtime type and kept. A ``nested`` decoder reads the map
    of a nested model: ``values(m, L)``, ``L`` being the number of maps and lists around
    its fields; deeper than DynamoDB stores, it raises InvalidValueError.
    """
    namespace: dict[str, Any] = {}
    body: list[str] = []
    for i, f in enumerate(fields):
        tag = decode_tag(f.annotation, f.ttl)
        own = f.converter.decode if f.converter is not None else None
        if own is None and tag not in _DECODE:
            own = container_decoder(f.annotation)
        if own is not None:
            namespace[f"h{i}"] = own
        elif tag == "model":
            namespace[f"c{i}"] = submodel(_model_class(f.annotation))
        body += _decode_block(i, f, tag, f.name in default_sets, f.name in required, nested,
                              own is not None)
    if extras:
        # attributes that are no field's are kept (decoded by runtime type)
        namespace["WIRE"] = frozenset(f.wire for f in fields)
        body += [
            "if len(out) != len(m):",
            "    for k, x in m.items():",
            "        if k not in out and k not in WIRE:",
            f"            out[k] = from_av(x{', L' if nested else ''})",
        ]
    head = ["def values(m):"]
    if nested:  # a recursive model decodes one level per call: stop where DynamoDB does
        head = ["def values(m, L=1):", f"if L > {MAX_CONTAINERS}:", "    raise too_deep()"]
    source = "\n    ".join([*head, "out = {}", *body, "return out"])
    fn: ValuesFn = build_function(source, "values", namespace)
    return fn


Decode = Callable[[AV, int], Any]


def _converted(model: type[BaseModel], seen: dict[type[Any], bool]) -> bool:
    """True when ``model`` or a model it holds has fields with converters."""
    from dyntable._internal.codec.formats import submodel_converters

    known = seen.get(model)
    if known is not None:
        return known
    seen[model] = False  # a model holding itself: decided by its other fields
    found = bool(submodel_converters(model)) or any(
        _holds_converted(info.annotation, seen) for info in model.model_fields.values()
    )
    seen[model] = found
    return found


def _holds_converted(annotation: Any, seen: dict[type[Any], bool]) -> bool:
    types_ = [annotation, *_inner_types(annotation)]
    return any(is_model_class(t) and _converted(t, seen) for t in types_)


def _inner_types(annotation: Any) -> list[Any]:
    out: list[Any] = []
    for arg in typing.get_args(annotation):
        out.append(arg)
        if not isinstance(arg, (str, bytes, int)):
            out += _inner_types(arg)
    return out


def container_decoder(annotation: Any) -> Decode | None:
    """A decoder for lists and maps holding nested models whose fields have converters
    (formats, type hooks): their items decode through the models' compiled decoders, as a
    model field's map does. ``None`` when decoding by runtime type serves (the usual case).
    """
    if not _holds_converted(annotation, {}):
        return None
    return _typed_decoder(annotation)


def _typed_decoder(annotation: Any) -> Decode:
    kind = field_kind(annotation)
    base, origin, args = kind.base, kind.origin, kind.args
    if is_model_class(base):
        sub = submodel(base)

        def model(av: AV, level: int = 0) -> Any:
            m = av.get("M")
            return from_av(av, level) if m is None else sub.values(m, level + 1)
        return model
    if origin in (list, tuple, Sequence) and args and (len(args) == 1 or args[-1] is ...):
        element = _typed_decoder(args[0])

        def listed(av: AV, level: int = 0) -> Any:
            items = av.get("L")
            if items is None or level >= MAX_CONTAINERS:
                return from_av(av, level)  # refuses nesting deeper than DynamoDB's
            return [element(x, level + 1) for x in items]
        return listed
    if origin in (dict, Mapping) and len(args) == 2:
        value = _typed_decoder(args[1])

        def mapped(av: AV, level: int = 0) -> Any:
            entries = av.get("M")
            if entries is None or level >= MAX_CONTAINERS:
                return from_av(av, level)
            return {k: value(x, level + 1) for k, x in entries.items()}
        return mapped
    return from_av


class _LateEncode:
    """Calls the compiled encoder of a nested model that was still compiling."""

    __slots__ = ("sub",)

    def __init__(self, sub: SubCodec) -> None:
        self.sub = sub

    def __call__(self, d: Mapping[str, Any], level: int) -> tuple[Item, int]:
        result: tuple[Item, int] = self.sub._encode(d, level)
        return result


class _Located(InvalidValueError):
    """An error whose message starts with its full path (from the field-by-field pass)."""

    def under(self, path: str) -> _Located:
        """The same error seen from the model that holds it at ``path``."""
        return _Located(f"{path}.{self}") if path else self


#: Field kinds encoded by runtime type: they may hold models, encoded field by field too.
_BY_RUNTIME_TYPE = frozenset({"model", "other", "dict_any", "set"})


class SubCodec:
    """The compiled codec of a nested pydantic model (stored as a map)."""

    def __init__(self, model: type[BaseModel]) -> None:
        from dyntable._internal.codec.formats import submodel_converters

        infos = model.model_fields
        own = submodel_converters(model)
        # a pydantic alias names the map key, as it names an item's attribute
        fields = [FieldDef(name, info.annotation, converter=own.get(name),
                           attribute=info.alias if isinstance(info.alias, str) else None)
                  for name, info in infos.items()]
        self.fields = [(f.name, f.annotation, kind_tag(f.annotation), f.converter, f.wire)
                       for f in fields]
        #: the model or a model nested in it has aliases: validate by field name
        self.aliased = any(f.wire != f.name for f in fields)
        self._serialize = next((c.serialize for c in own.values() if c.serialize), None)
        _BUILDING[model] = self  # a model nesting itself finds its codec while it compiles
        try:
            self._encode = compile_encoder(fields, lenient=True, nested=True)
            required = [name for name, info in infos.items() if info.is_required()]
            self.values = compile_values(fields, required=required, extras=True, nested=True)
            #: ``build(m, L)``: the instance without re-validation, or ``None`` (validate)
            self.build: Callable[..., Any] | None = None
            if not own:
                from dyntable._internal.codec.construct import model_builder

                self.build = model_builder(model, fields, nested=True)
        finally:
            del _BUILDING[model]

    def encode(self, obj: BaseModel, path: str, level: int = 0) -> tuple[Item, int]:
        """The map of ``obj`` and an upper bound of its entries' size.

        ``level`` is the number of maps and lists around ``obj`` (0 for an attribute).
        """
        if level >= MAX_CONTAINERS:
            raise nesting_error(path)
        try:
            return self._encode(obj.__dict__, level + 1)
        except Exception:  # the field-by-field pass reports it precisely
            item = self.encode_precise(obj, path, level)
            return item, sum(4 * len(k) + av_bound(v) for k, v in item.items())

    def encode_precise(self, obj: BaseModel, path: str, level: int = 0) -> Item:
        """The map of ``obj``, field by field, nested models too (no compiled code).

        Slower than :meth:`encode`; an error names its full path (``path.field...``).
        """
        if level >= MAX_CONTAINERS:
            raise nesting_error(path)
        d = obj.__dict__
        out: Item = {}
        inner = level + 1
        try:
            serialized = self._serialize(d) if self._serialize is not None else {}
        except InvalidValueError as exc:
            raise _Located(f"{path}: {exc}" if path else str(exc)) from None
        for name, annotation, tag, conv, wire in self.fields:
            v = serialized.get(name) if conv is not None and conv.serialize else d.get(name)
            if v is None:
                continue
            av: AV | None
            try:
                if conv is not None:
                    av = conv.encode(v, inner)
                elif tag in _BY_RUNTIME_TYPE:
                    av = to_av(v, name, inner, True)
                else:
                    av = make_encoder(annotation, name)(v, inner)
            except _Located as exc:
                raise exc.under(path) from None
            except InvalidValueError as exc:
                raise _Located(f"{path}.{name}: {exc}" if path else f"{name}: {exc}") from None
            if av is not None:
                out[wire] = av
        return out


_SUB: dict[type[BaseModel], SubCodec] = {}
_BUILDING: dict[type[BaseModel], SubCodec] = {}  # seen only by the thread holding the lock
_SUB_LOCK = threading.RLock()


def submodel(model: type[BaseModel]) -> SubCodec:
    """The compiled codec of a nested model class (built on first use)."""
    codec = _SUB.get(model)
    if codec is None:
        with _SUB_LOCK:
            codec = _SUB.get(model) or _BUILDING.get(model)
            if codec is None:
                codec = _SUB[model] = SubCodec(model)
    return codec


def encode_submodel(obj: BaseModel, path: str, level: int = 0, precise: bool = False) -> Item:
    """Encode a nested pydantic model as a map (``level``: maps and lists around it;
    ``precise``: field by field, see :meth:`SubCodec.encode_precise`)."""
    codec = submodel(type(obj))
    return codec.encode_precise(obj, path, level) if precise else codec.encode(obj, path, level)[0]
