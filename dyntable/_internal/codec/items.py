"""Per-model item codecs, compiled once per class: model <-> DynamoDB item.

Every stored item carries its key attributes (filled from the templates) and the table's
entity attribute, so an item read back from anywhere decodes to the right class.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from dyntable._internal.codec.compiled import (
    FieldDef,
    KeyDef,
    compile_encoder,
    compile_values,
    encode_submodel,
    key_size_bound,
)
from dyntable._internal.codec.fields import (
    Encoder,
    field_kind,
    key_text,
    make_encoder,
)
from dyntable._internal.codec.formats import converters, validate_alone
from dyntable._internal.codec.limits import (
    MAX_ITEM_SIZE,
    av_bound,
    item_size,
    largest_attributes,
    number_text,
)
from dyntable._internal.codec.limits import upper_bound_fits as fits_cheaply
from dyntable._internal.codec.pydantic_loaded import validation_errors
from dyntable._internal.codec.values import b_value, from_av
from dyntable._internal.schema.receipts import RECEIPTS_ATTRIBUTE, Receipts, remember
from dyntable._internal.schema.remembered import extra_of
from dyntable._internal.schema.remembered import remember as remember_extra
from dyntable._internal.schema.versions import VERSION_ATTRIBUTE, stored_version, upgrade_values
from dyntable.errors import (
    DecodeError,
    ExpressionError,
    InvalidRequestError,
    InvalidValueError,
    ItemTooLargeError,
    KeyTemplateError,
)

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from dyntable._internal.schema.spec import KeySpec, ModelSpec
    from dyntable.schema.model import Model

__all__ = ["ItemCodec", "codec_for", "encode_submodel", "entity_of", "extra_attributes",
           "suggest"]

AV = dict[str, Any]
Item = dict[str, AV]
M = TypeVar("M", bound="Model")

_MAX_PK = 2048
_MAX_SK = 1024
_lock = threading.Lock()


def entity_of(item: Mapping[str, Any], attribute: str | None) -> str | None:
    """The entity name stored in ``item``, or ``None`` (also for a table without one)."""
    if attribute is None:
        return None
    av = item.get(attribute)
    if isinstance(av, Mapping):
        value = av.get("S")
        return value if isinstance(value, str) else None
    return None


class _KeyPart:
    """Formats one key attribute from field values."""

    def __init__(self, codec: ItemCodec[Any], attr: str, template: Any, limit: int) -> None:
        self.attr = attr
        self.template = template
        self.limit = limit
        self.type = codec.spec.table.attribute_type(attr)
        self.fields = template.fields
        self.specs = template.specs
        # "TENANT#{tenant}": one field without a format spec, in a string attribute.
        self.plain: str | None = None
        self.separators = template.separators
        if self.type == "S" and len(self.fields) == 1 and not self.specs[0]:
            self.plain = self.fields[0]
            self.before, self.after = template.literals

    def key_def(self, checked: Callable[[_KeyPart, Mapping[str, Any]], AV]) -> KeyDef:
        """This part for :func:`~dyntable._internal.codec.compiled.compile_encoder`."""
        before, after = (self.before, self.after) if self.plain else ("", "")
        return (self.attr, self.plain, before, after, self.limit, lambda d: checked(self, d))

    def fast(self, values: Mapping[str, Any]) -> AV | None:
        """The attribute when the template is plain and its value a non-empty ASCII
        ``str`` within the size limit; ``None`` means "take the checked path"."""
        if self.plain is None:
            return None
        v = values.get(self.plain)
        if type(v) is not str or not v:
            return None
        for sep in self.separators:
            if sep in v:
                return None  # the checked path refuses it
        text = self.before + v + self.after
        if len(text) > self.limit or not text.isascii():
            return None
        return {"S": text}

    def text_parts(self, values: Mapping[str, Any]) -> dict[str, str]:
        pairs = zip(self.fields, self.specs, strict=True)
        return {f: key_text(values[f], s) for f, s in pairs}

    def build(self, values: Mapping[str, Any]) -> AV:
        if self.type == "N":
            return {"N": number_text(values[self.fields[0]], self.fields[0])}
        if self.type == "B":
            return {"B": b_value(values[self.fields[0]])}
        text = self.template.format(self.text_parts(values))
        size = len(text.encode("utf-8"))
        if size > self.limit:
            raise KeyTemplateError(
                f"key attribute {self.attr!r} would be {size} bytes; DynamoDB allows "
                f"{self.limit}"
            )
        if not text:
            raise KeyTemplateError(f"key attribute {self.attr!r} would be empty")
        return {"S": text}


class ItemCodec(Generic[M]):
    """Encodes instances of one model to items and decodes items back."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.model: type[M] = spec.model  # type: ignore[assignment]
        self.entity = spec.entity
        self.entity_attr = spec.table.entity_attribute
        self.entity_av: AV = {"S": spec.entity}
        self.schema_version = spec.schema_version
        self.version_av: AV | None = (
            {"N": str(spec.schema_version)} if spec.schema_version is not None else None
        )
        self.encoders: list[tuple[str, Encoder]] = []
        self.set_fields: list[str] = []
        self.optional: set[str] = set()
        #: fields stored by a format, type hook or pydantic serializer (see formats.py)
        self.converters = converters(spec.model, spec.fields, spec.table.type_hooks)
        for name, f in spec.fields.items():
            conv = self.converters.get(name)
            self.encoders.append((name, make_encoder(f.annotation, name, ttl=f.is_ttl)
                                  if conv is None else conv.value))
            kind = field_kind(f.annotation)
            if kind.is_set and not kind.optional:
                # An empty set is left out of the item; it reads back as an empty set.
                self.set_fields.append(name)
            if kind.optional:
                self.optional.add(name)
        defs = [FieldDef(name, f.annotation, f.is_ttl, f.attribute, f.metadata,
                         self.converters.get(name))
                for name, f in spec.fields.items() if f.stored]
        required = [name for name, f in spec.fields.items() if f.required]
        self._values = compile_values(defs, required=required, default_sets=self.set_fields)
        #: ``build(item)``: the instance without re-validation, or ``None`` (then validate);
        #: only for models whose validation would change nothing (see construct.py)
        self._build: Callable[[Mapping[str, Any]], M | None] | None = None
        if not self.converters and len(defs) == len(spec.fields):
            from dyntable._internal.codec.construct import model_builder

            self._build = model_builder(spec.model, defs, default_sets=self.set_fields)
        #: ``_build`` when decoding needs nothing else either (no schema versions, write
        #: receipts or unique values to look at): the shortest path of :meth:`decode`
        self._fast = self._build if spec.schema_version is None and spec.version_field \
            is None and not spec.unique_fields else None
        self._optional_required = [n for n in required if n in self.optional]
        self._fixed_size = 0
        if self.entity_attr is not None:
            self._fixed_size = 4 * (len(self.entity_attr) + len(self.entity))
        if self.version_av is not None:
            self._fixed_size += 4 * len(VERSION_ATTRIBUTE) + len(self.version_av["N"]) + 2
        self.parts: dict[str, list[_KeyPart]] = {}
        for kname, key in spec.keys.items():
            if key.native:
                continue
            pk = zip(key.pk_attrs, key.pk_templates, strict=True)
            sk = zip(key.sk_attrs, key.sk_templates, strict=True)
            parts = [_KeyPart(self, a, t, _MAX_PK) for a, t in pk]
            parts += [_KeyPart(self, a, t, _MAX_SK) for a, t in sk]
            self.parts[kname] = parts
        self.primary_parts = self.parts[spec.primary.name]
        self.index_keys = [
            (k, self.parts[k.name]) for k in spec.keys.values() if k.index is not None
            and not k.native
        ]
        self._adapters: dict[str, TypeAdapter[Any]] = {}
        self._plain = {
            n: f.annotation for n, f in spec.fields.items()
            if f.annotation in (str, int) and n not in self.converters
        }
        self._key_fields: dict[str, tuple[str, ...]] = {}
        self._version_field = spec.version_field
        # Aliased fields: values are keyed by field name, so validate by name.
        self._by_name = any(f.attribute != n or _aliased(f.annotation)
                            for n, f in spec.fields.items())
        self._wire = {n: f.attribute for n, f in spec.fields.items()}
        self._n_fields = len(spec.fields)
        self._unique = spec.unique_fields
        # Fields a key template holds: read back from the key when their own attribute is
        # absent (kept only in the key, or written by a program that stores no copy).
        self._templated = tuple(dict.fromkeys(
            f for k in spec.keys.values() if not k.native for f in k.fields))
        # Attributes this model reads or writes; any other attribute of a stored item is
        # kept with the decoded object and written back by a put (remembered.py).
        known = {f.attribute for f in spec.fields.values() if f.stored}
        known |= spec.key_attributes | {VERSION_ATTRIBUTE, RECEIPTS_ATTRIBUTE}
        if self.entity_attr is not None:
            known.add(self.entity_attr)
        self._known = frozenset(known)
        keys = [p.key_def(self._part) for p in self.primary_parts]
        self._encode_fields = compile_encoder(defs, keys=keys)

    def owns(self, item: Mapping[str, Any]) -> bool:
        """True when a stored item (wire form) is this model's: by its entity attribute,
        else by its key (see :mod:`~dyntable._internal.codec.identity`)."""
        if self.entity_attr is not None:
            av = item.get(self.entity_attr)
            if av is not None:
                return isinstance(av, Mapping) and av.get("S") == self.entity
        from dyntable._internal.codec.identity import identity

        return identity(self.spec.table).model_of(item) is self.model

    # -- encoding ----------------------------------------------------------------------

    def encode(self, obj: M, *, check_size: bool = True) -> Item:
        """The full item for ``obj``: fields, key attributes and entity attribute."""
        d = obj.__dict__
        try:
            item, bound = self._encode_fields(d)
        except KeyError as exc:
            raise InvalidRequestError(
                f"{self.model.__name__} instance lacks field {exc.args[0]!r} (a partial object "
                "from a projected read cannot be written)"
            ) from None
        except InvalidValueError as exc:
            raise InvalidValueError(f"{self.model.__name__}: {exc}") from None
        for _key, parts in self.index_keys:
            built = self._index_attrs(parts, d)
            if built:
                item.update(built)
                bound += sum(4 * len(a) + key_size_bound(v) for a, v in built.items())
        if self.entity_attr is not None:
            item[self.entity_attr] = self.entity_av
        if self.version_av is not None:
            item[VERSION_ATTRIBUTE] = self.version_av
        extra = extra_of(obj)
        if extra:
            for name, av in extra.items():
                if name not in item:
                    item[name] = av
                    bound += 4 * len(name) + av_bound(av)
        if check_size and bound + self._fixed_size > MAX_ITEM_SIZE:
            self.check_size(item)
        return item

    def check_size(self, item: Item) -> int:
        """Raise ItemTooLargeError when ``item`` is over 400 KB.

        Returns the exact size, or -1 when a cheap upper bound already shows the item fits.
        """
        if fits_cheaply(item):
            return -1
        size = item_size(item)
        if size > MAX_ITEM_SIZE:
            key = {p.attr: item.get(p.attr) for p in self.primary_parts}
            where = ", ".join(
                f"{a}={next(iter(av.values()))!r}" if isinstance(av, dict) and av else f"{a}=?"
                for a, av in key.items()
            )
            largest = ", ".join(f"{a} ({n} bytes)" for a, n in largest_attributes(item))
            raise ItemTooLargeError(
                f"{self.model.__name__} item is {size} bytes; DynamoDB's limit is "
                f"{MAX_ITEM_SIZE} bytes (400 KB) including attribute names. Item key: "
                f"{where}; largest attributes: {largest}. Keep large data elsewhere (e.g. "
                "S3, storing its location) or split it over several items",
                size=size,
                key=key,
            )
        return size

    def _part(self, part: _KeyPart, values: Mapping[str, Any], *, required: bool = True) -> AV:
        av = part.fast(values)
        if av is not None:
            return av
        for f in part.fields:
            if values.get(f) is None:
                raise KeyTemplateError(
                    f"{self.model.__name__}: key field {f!r} is required for key attribute "
                    f"{part.attr!r} ({part.template.source!r})"
                )
        try:
            return part.build(values)
        except KeyTemplateError as exc:
            raise KeyTemplateError(f"{self.model.__name__}: {exc}") from None
        except InvalidValueError as exc:
            raise KeyTemplateError(f"{self.model.__name__} key {part.attr!r}: {exc}") from None

    def _index_attrs(self, parts: list[_KeyPart], values: Mapping[str, Any]) -> Item | None:
        """The index key attributes, or ``None`` when a field is absent (sparse index)."""
        for part in parts:
            for f in part.fields:
                if values.get(f) is None:
                    return None
        return {p.attr: self._part(p, values, required=False) for p in parts}

    def coerce(self, name: str, value: Any) -> Any:
        """Validate a loose value (e.g. a key keyword) as field ``name``'s type."""
        if type(value) is self._plain.get(name):
            return value  # a plain str / int field given a str / int: nothing to convert
        if name not in self.spec.fields:
            raise ExpressionError(
                f"{self.model.__name__} has no field {name!r}"
                f"{suggest([name], self.spec.fields)} (fields: {sorted(self.spec.fields)})"
            )
        conv = self.converters.get(name)
        try:
            if conv is not None and conv.serialize is not None:
                # Its validators turn the stored (serialized) form back into the value.
                return validate_alone(self.model, name, value)
            return self._adapter(name).validate_python(value)
        except ValueError as exc:  # pydantic's ValidationError
            errors = validation_errors(exc)
            msg = errors[0].get("msg", str(exc)) if errors else str(exc)
            raise InvalidValueError(
                f"{self.model.__name__}.{name}: {value!r} is not valid: {msg}"
            ) from None

    def _adapter(self, name: str) -> TypeAdapter[Any]:
        """The pydantic TypeAdapter of field ``name`` (built on first use)."""
        adapter = self._adapters.get(name)
        if adapter is None:
            from pydantic import ConfigDict, TypeAdapter
            from pydantic.errors import PydanticSchemaGenerationError

            annotation = self.spec.fields[name].annotation
            try:
                adapter = TypeAdapter(annotation)
            except PydanticSchemaGenerationError:  # e.g. a type that a TypeHook stores
                if not self.model.model_config.get("arbitrary_types_allowed"):
                    raise
                adapter = TypeAdapter(annotation,
                                      config=ConfigDict(arbitrary_types_allowed=True))
            self._adapters[name] = adapter
        return adapter

    def key(self, values: Mapping[str, Any], key: KeySpec | None = None) -> Item:
        """The key attributes of ``key`` (default: primary) from field keyword values."""
        key = key or self.spec.primary
        needed = self._key_fields.get(key.name)
        if needed is None:
            needed = self._key_fields[key.name] = tuple(dict.fromkeys(key.fields))
        if len(values) != len(needed) or any(f not in values for f in needed):
            self._check_key_names(key, needed, values)
        missing = [f for f in needed if values[f] is None]
        if missing:
            raise KeyTemplateError(
                f"{self.model.__name__}.{key.name}: key field(s) {missing} are None "
                f"(needs {list(needed)})"
            )
        coerced = {f: self.coerce(f, values[f]) for f in needed}
        if key.native:
            return {a: self.encode_field(f, coerced[f]) for a, f in zip(key.attrs, key.fields,
                                                                       strict=True)}
        return {p.attr: self._part(p, coerced, required=True) for p in self.parts[key.name]}

    def _check_key_names(self, key: KeySpec, needed: tuple[str, ...],
                         values: Mapping[str, Any]) -> None:
        """Raise KeyTemplateError naming unknown and missing key fields."""
        where = f"{self.model.__name__}.{key.name}"
        unknown = [f for f in values if f not in needed]
        if unknown:
            raise KeyTemplateError(
                f"{where}: unknown key field(s) {unknown}{suggest(unknown, needed)}; "
                f"the key fields are {list(needed)}"
            )
        missing = [f for f in needed if f not in values]
        raise KeyTemplateError(
            f"{where}: missing key field(s) {missing} (the key fields are {list(needed)})"
        )

    def key_part(self, key: KeySpec, index: int, values: Mapping[str, Any]) -> AV:
        """One key attribute of ``key`` (0: partition, 1: sort) from coerced values."""
        return self._part(self.parts[key.name][index], values, required=True)

    def key_of(self, obj: M) -> Item:
        """The primary key attributes of an instance."""
        d = obj.__dict__
        return {p.attr: self._part(p, d, required=True) for p in self.primary_parts}

    def part_texts(self, key: KeySpec, which: str, values: Mapping[str, Any]) -> dict[str, str]:
        """Key-template texts of the given (coerced) values, for prefixes and ranges."""
        templates = key.pk_templates if which == "pk" else key.sk_templates
        out: dict[str, str] = {}
        for t in templates:
            for f, s in zip(t.fields, t.specs, strict=True):
                if f in values:
                    try:
                        out[f] = key_text(values[f], s)
                    except InvalidValueError as exc:
                        raise KeyTemplateError(f"{self.model.__name__}.{f}: {exc}") from None
        return out

    def encode_field(self, name: str, value: Any) -> AV:
        """Encode one top-level field value (for expressions and updates)."""
        for fname, enc in self.encoders:
            if fname == name:
                if value is None:
                    return {"NULL": True}
                try:
                    av = enc(value)
                except InvalidValueError as exc:
                    raise InvalidValueError(f"{self.model.__name__}: {exc}") from None
                if av is None:
                    what = "an empty set" if name not in self.converters else \
                        f"{value!r} (its TypeHook or serializer gives None or an empty set)"
                    raise InvalidValueError(
                        f"{self.model.__name__}.{name}: {what} cannot be written "
                        "(DynamoDB has no empty sets; remove the attribute instead)"
                    )
                return av
        raise ExpressionError(
            f"{self.model.__name__} has no field {name!r}{suggest([name], self.spec.fields)}"
        )

    # -- decoding ----------------------------------------------------------------------

    def values(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """Field values read from an item (before model validation).

        A field a key template holds whose own attribute is absent is read from the key.
        An optional field without a default that was ``None`` (so left out of the item)
        reads back as ``None``.
        """
        values = self._values(item)
        for name in self._templated if len(values) < self._n_fields else ():
            if name not in values:
                found = self.field_values_from_key(item)
                for f in self._templated:
                    if f not in values and f in found:
                        values[f] = found[f]
                break
        if self._optional_required:
            for name in self._optional_required:
                if name not in values:
                    values[name] = None
        return values

    def _upgraded(self, item: Mapping[str, Any], values: dict[str, Any]
                  ) -> tuple[dict[str, Any], frozenset[str]]:
        """Run the model's upgrade chain when the item was stored by an older schema version.

        Returns the field values and the attributes the chain consumed (renamed or dropped).
        """
        stored = stored_version(item)
        if self.schema_version is None or stored >= self.schema_version:
            return values, frozenset()
        raw = {k: from_av(v) for k, v in item.items() if k not in values}
        upgraded = upgrade_values(self.spec, {**raw, **values}, stored)
        consumed = frozenset(k for k in raw if k not in upgraded)
        return {k: v for k, v in upgraded.items() if k in self.spec.fields}, consumed

    def decode(self, item: Mapping[str, Any]) -> M:
        """Decode a full item into the model; DecodeError when it does not fit.

        Items stored by an older ``schema_version`` go through the model's upgrade chain
        first (see :mod:`dyntable._internal.schema.versions`). Attributes the model does not
        declare are kept with the object (see :func:`extra_attributes`) and written back by
        a put of it.
        """
        obj: M | None = None
        fast = self._fast
        if fast is not None:
            try:
                obj = fast(item)
            except Exception:  # validation below decides and reports
                obj = None
            if obj is not None and self._known.issuperset(item):
                return obj  # nothing to remember about it
        elif self._build is not None and (self.schema_version is None
                                          or stored_version(item) >= self.schema_version):
            try:
                obj = self._build(item)
            except Exception:  # validation below decides and reports
                obj = None
        consumed: frozenset[str] = frozenset()
        if obj is None:
            try:
                values = self.values(item)
                if self.schema_version is not None:
                    values, consumed = self._upgraded(item, values)
                # model_validate without its wrapper (the same validator call).
                if self._by_name:
                    obj = self.model.__pydantic_validator__.validate_python(
                        values, by_name=True)
                else:
                    obj = self.model.__pydantic_validator__.validate_python(values)
            except (InvalidValueError, KeyError, ValueError) as exc:  # incl. ValidationError
                raise self._decode_error(item, exc) from None
            assert obj is not None
        if self._version_field is not None and RECEIPTS_ATTRIBUTE in item:
            remember(obj, obj.__dict__[self._version_field], Receipts.read(item))
        if self._unique:
            remember_extra(obj, uniques={f: obj.__dict__.get(f) for f in self._unique})
        if not self._known.issuperset(item):
            known = self._known
            # aws:rep:* are written by Global Tables (version 2017.11.29) for their own
            # bookkeeping: never the model's, never written back.
            extra = {k: v for k, v in item.items()
                     if k not in known and k not in consumed and not k.startswith("aws:rep:")}
            if extra:
                remember_extra(obj, extra=extra)
        return obj

    def decode_partial(self, item: Mapping[str, Any]) -> M:
        """Decode a projected item: fields that were not read are absent, not defaulted.

        Fields whose values can be recovered from the item's key attributes are filled in.
        Reading an absent field raises AttributeError; ``obj.model_fields_set`` lists the
        fields that were read. Such an object cannot be written back.
        """
        try:
            values = self.values(item)
            wire = self._wire
            present = {k: self.coerce(k, v) for k, v in values.items() if wire[k] in item}
            for k, v in self.field_values_from_key(item).items():
                present.setdefault(k, v)
        except InvalidValueError as exc:
            raise self._decode_error(item, exc) from None
        obj: M = self.model.model_construct(_fields_set=set(present), **present)
        d = obj.__dict__
        for k in list(d):
            if k not in present:
                del d[k]
        return obj

    def _decode_error(self, item: Mapping[str, Any], exc: Exception) -> DecodeError:
        key = {a: item.get(a) for a in self.spec.primary.attrs}
        errors = validation_errors(exc)
        if errors is not None:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5]
            )
        else:
            problems = str(exc)
        return DecodeError(
            f"item {key} does not fit {self.model.__name__}: {problems}",
            model=self.model.__name__,
            key=key,
        )

    def field_values_from_key(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """Field values recovered by parsing the key attributes of an item (KEYS_ONLY)."""
        found: dict[str, Any] = {}
        for parts in [self.primary_parts] + [p for _k, p in self.index_keys]:
            for part in parts:
                av = item.get(part.attr)
                if not isinstance(av, Mapping):
                    continue
                if part.type != "S":
                    if "N" in av:
                        found.setdefault(part.fields[0], av["N"])
                    elif "B" in av:
                        found.setdefault(part.fields[0], b_value(av["B"]))
                    continue
                parsed = part.template.parse_value(av.get("S", ""))
                if parsed:
                    for f, text in parsed.items():
                        found.setdefault(f, text)
        out: dict[str, Any] = {}
        for f, raw in found.items():
            try:
                out[f] = self.coerce(f, raw)
            except InvalidValueError:
                continue
        return out


def _aliased(annotation: Any, seen: set[int] | None = None) -> bool:
    """True when a pydantic model inside ``annotation`` (at any depth) has field aliases."""
    import typing

    from pydantic import BaseModel

    seen = set() if seen is None else seen
    if id(annotation) in seen:
        return False
    seen.add(id(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any((isinstance(i.alias, str) and i.alias != n) or _aliased(i.annotation, seen)
                   for n, i in annotation.model_fields.items())
    return any(_aliased(a, seen) for a in typing.get_args(annotation))


def extra_attributes(obj: Model) -> dict[str, Any]:
    """The attributes of the item ``obj`` was read from that its model does not declare
    (written by another program), as plain Python values; ``{}`` when there were none.

    A put of ``obj`` (or of a copy of it) writes them back unchanged, so a read-modify-write
    cycle never deletes data dyntable did not know about.
    """
    extra = extra_of(obj)
    return {k: from_av(v) for k, v in extra.items()} if extra else {}


def suggest(unknown: Sequence[str], valid: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the first unknown name close to a valid one, else ``""``."""
    import difflib

    for name in unknown:
        close = difflib.get_close_matches(name, list(valid), n=1)
        if close:
            return f" (did you mean {close[0]!r} for {name!r}?)"
    return ""


def codec_for(model: type[M]) -> ItemCodec[M]:
    """The compiled codec of a model class (built on first use, then cached)."""
    spec = model.__dyntable__
    codec = spec.codec
    if codec is None:
        with _lock:
            codec = spec.codec
            if codec is None:
                codec = ItemCodec(spec)
                spec.codec = codec
    return codec  # type: ignore[no-any-return]

