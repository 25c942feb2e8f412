"""Query and scan builders with lazy pagination, exact limits and cursors.

``limit(n)`` counts items *returned*, not items evaluated: dyntable passes the remaining
count as DynamoDB's ``Limit`` page after page, so a filter that drops items never makes a
page short of what you asked for, and the cursor of a page is exactly where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from dyntable.codec.items import ItemCodec, codec_for
from dyntable.errors import ExpressionError, InvalidRequestError, KeyTemplateError
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Condition, all_of
from dyntable.expressions.paths import F, Path, attr
from dyntable.operations.cursors import decode_cursor, encode_cursor, fingerprint
from dyntable.operations.tables import key_attribute_type

if TYPE_CHECKING:
    from typing_extensions import Self

    from dyntable.schema.keys import ModelKey
    from dyntable.schema.model import Model
    from dyntable.schema.spec import KeySpec

__all__ = ["Page", "Query", "Reader", "Scan"]

M = TypeVar("M", bound="Model")
AV = dict[str, Any]
#: One native sort attribute condition: (attribute, operator, encoded values).
_Cond = tuple[str, str, tuple[AV, ...]]
_MAX_CHAR = "\U0010ffff"


class Reader(Protocol):
    """What a read builder needs from the client."""

    table_name: str
    cursor_secret: bytes
    hide_expired: bool

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one request."""
        ...


@dataclass
class Page(Generic[M]):
    """One page of results: ``items`` and the ``cursor`` of the next page (``None``: last)."""

    items: list[M]
    cursor: str | None

    @property
    def has_more(self) -> bool:
        """True when another page may follow."""
        return self.cursor is not None

    def __iter__(self) -> Iterator[M]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class _Read(Generic[M]):
    operation = "Query"

    def __init__(self, reader: Reader, codec: ItemCodec[M], key: KeySpec | None) -> None:
        self._reader = reader
        self._codec = codec
        self._key = key
        self._filter: Condition | None = None
        self._limit: int | None = None
        self._page_size: int | None = None
        self._consistent = False
        self._project: list[str | Path] | None = None
        self._extra: dict[str, Any] = {}
        self._fingerprinting = False

    # -- builder methods (each returns self) -------------------------------------------

    def where(self, condition: Condition) -> Self:
        """Add a filter (applied by DynamoDB after reading; ANDed with earlier filters)."""
        if not isinstance(condition, Condition):
            raise ExpressionError("where() takes a condition such as F.status == 'PLACED'")
        self._filter = all_of(self._filter, condition)
        return self

    def limit(self, n: int) -> Self:
        """Return at most ``n`` items in all (items returned, not items evaluated)."""
        if not isinstance(n, int) or n < 1:
            raise InvalidRequestError("limit must be a positive int")
        self._limit = n
        return self

    def page_size(self, n: int) -> Self:
        """Read at most ``n`` items per request (DynamoDB's ``Limit``)."""
        if not isinstance(n, int) or n < 1:
            raise InvalidRequestError("page_size must be a positive int")
        self._page_size = n
        return self

    def consistent(self, value: bool = True) -> Self:
        """Strongly consistent read (not available on GSIs)."""
        if value and self._key is not None and self._key.is_gsi:
            raise InvalidRequestError(
                f"index {self._key.index!r} is a GSI: DynamoDB offers only eventually "
                "consistent reads on GSIs"
            )
        self._consistent = value
        return self

    def project(self, *fields: str | Path) -> Self:
        """Read only these fields; results are partial objects (unread fields are absent)."""
        for f in fields:
            if isinstance(f, str) and f not in self._codec.spec.fields:
                raise ExpressionError(
                    f"{self._codec.model.__name__} has no field {f!r}"
                )
        self._project = [F[f] if isinstance(f, str) else f for f in fields]
        return self

    # -- compilation -------------------------------------------------------------------

    def _entity_filter(self) -> Condition | None:
        key = self._key
        # INCLUDE projections always carry the entity attribute (operations.tables).
        if key is not None and key.index is not None and key.projection == "KEYS_ONLY":
            return None
        return attr(self._codec.entity_attr) == self._codec.entity

    def _ttl_filter(self) -> Condition | None:
        ttl = self._codec.spec.ttl_field
        if not (ttl and self._reader.hide_expired):
            return None
        # A fixed "now" while fingerprinting, so a cursor stays valid as time passes.
        now = 0 if self._fingerprinting else int(time.time())
        return attr(ttl).not_exists() | (attr(ttl) > now)

    def _base_params(self, compiler: Compiler) -> dict[str, Any]:
        params: dict[str, Any] = {"TableName": self._reader.table_name}
        if self._key is not None and self._key.index is not None:
            params["IndexName"] = self._key.index
        if self._consistent:
            params["ConsistentRead"] = True
        return params

    def _finish(self, params: dict[str, Any], compiler: Compiler, count: bool) -> None:
        cond = all_of(self._entity_filter(), self._filter, self._ttl_filter())
        if cond is not None:
            params["FilterExpression"] = compiler.condition(cond)
        if count:
            params["Select"] = "COUNT"
        elif self._project:
            keys = self._codec.spec.primary.attrs
            if self._key is not None:
                keys = keys + self._key.attrs
            params["ProjectionExpression"] = compiler.projection(
                [*self._project, *(attr(a) for a in dict.fromkeys(keys)),
                 attr(self._codec.entity_attr)]
            )
        params.update(compiler.params())
        params.update(self._extra)

    def _compile(self, count: bool = False) -> dict[str, Any]:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The first request this read would send (compile only, no network)."""
        params = self._compile()
        if self._limit is not None or self._page_size is not None:
            params["Limit"] = min(x for x in (self._limit, self._page_size) if x is not None)
        return params

    def _fingerprint(self) -> str:
        self._fingerprinting = True
        try:
            params = self._compile()
        finally:
            self._fingerprinting = False
        return fingerprint([
            self.operation,
            {k: v for k, v in params.items() if k not in ("Limit", "ExclusiveStartKey")},
            self._codec.entity,
        ])

    def _key_attrs(self) -> tuple[str, ...]:
        attrs = self._codec.spec.primary.attrs
        if self._key is not None and self._key.index is not None:
            attrs = attrs + self._key.attrs
        return attrs

    # -- execution ---------------------------------------------------------------------

    def _decode(self, raw: list[dict[str, Any]]) -> list[M]:
        codec = self._codec
        partial = self._project is not None or (
            self._key is not None and self._key.projection in ("KEYS_ONLY", "INCLUDE")
        )
        if partial:
            return [codec.decode_partial(item) for item in raw]
        decode = codec.decode
        return [decode(item) for item in raw]

    def _pages(self, start: dict[str, Any] | None) -> Iterator[tuple[list[M], dict[str, Any]
                                                                      | None]]:
        params = self._compile()
        remaining = self._limit
        key = start
        send = self._reader.send
        while True:
            req = dict(params)
            if key:
                req["ExclusiveStartKey"] = key
            size = self._page_size
            if remaining is not None:
                size = remaining if size is None else min(size, remaining)
            if size is not None:
                req["Limit"] = size
            resp = send(self.operation, req)
            key = resp.get("LastEvaluatedKey") or None
            items = self._decode(resp.get("Items") or [])
            del resp  # drop the raw page before the caller works through the decoded one
            if remaining is not None:
                remaining -= len(items)
            yield items, key
            del items
            if key is None or (remaining is not None and remaining <= 0):
                return

    def __iter__(self) -> Iterator[M]:
        """Iterate lazily across pages; memory is bounded by one page.

        Each object is released by the iterator as soon as it is handed out, so what the
        caller does not keep is freed before the next page is read.
        """
        for items, _key in self._pages(None):
            items.reverse()
            while items:
                yield items.pop()

    def all(self) -> list[M]:
        """Every matching item (up to ``limit``) as a list."""
        return list(self)

    def first(self) -> M | None:
        """The first matching item, or ``None``."""
        for item in self:
            return item
        return None

    def page(self, cursor: str | None = None) -> Page[M]:
        """One page: up to ``limit`` items (default: one DynamoDB page) and the next cursor."""
        fp = self._fingerprint()
        secret = self._reader.cursor_secret
        start = decode_cursor(cursor, fp, secret, self._key_attrs()) if cursor else None
        items: list[M] = []
        last: dict[str, Any] | None = None
        for batch, key in self._pages(start):
            last = key
            items.extend(batch)
            if self._limit is None:
                break
        return Page(items, encode_cursor(last, fp, secret) if last else None)

    def count(self) -> int:
        """How many items match (reads every page with ``Select=COUNT``)."""
        params = self._compile(count=True)
        total = 0
        key: dict[str, Any] | None = None
        while True:
            req = dict(params)
            if key:
                req["ExclusiveStartKey"] = key
            resp = self._reader.send(self.operation, req)
            total += int(resp.get("Count", 0))
            key = resp.get("LastEvaluatedKey")
            if not key:
                return total


class Query(_Read[M]):
    """A query on a model's key (``db.query(Order.primary, username="ada")``).

    On a native multi-attribute GSI key (``GSI(pk=[...], sk=[...])``) every partition field is
    required, and a sort key condition names a *leading run* of the declared sort fields
    (``created``, or ``created`` and ``order_id`` for ``sk=["created", "order_id"]``; never
    ``order_id`` alone): every field but the last is compared with ``=``, the method's
    operator applies to the last. ``gt(created=x, order_id="o5")`` is ``created = x AND
    order_id > "o5"``; ``eq`` and sort fields given to ``query()`` are equalities throughout;
    ``between(low, high)`` bounds agree on all fields but the last; ``begins_with`` takes a
    string attribute. Values are encoded like the stored fields (numbers compare as numbers).
    """

    operation = "Query"

    def __init__(self, reader: Reader, key: ModelKey[M], fields: Mapping[str, Any]) -> None:
        if not hasattr(key, "spec") or not hasattr(key, "model"):
            raise InvalidRequestError("query() takes a key read from a model, e.g. Order.primary")
        codec = codec_for(key.model)
        super().__init__(reader, codec, key.spec)
        spec = key.spec
        self._pk_values = {f: v for f, v in fields.items() if f in spec.pk_fields}
        sk_given = {f: v for f, v in fields.items() if f not in spec.pk_fields}
        unknown = set(sk_given) - set(spec.sk_fields)
        if unknown:
            raise KeyTemplateError(
                f"{codec.model.__name__}.{spec.name}: {sorted(unknown)} are not fields of this "
                f"key (partition: {list(spec.pk_fields)}, sort: {list(spec.sk_fields)})"
            )
        missing = [f for f in spec.pk_fields if fields.get(f) is None]
        if missing:
            raise KeyTemplateError(
                f"{codec.model.__name__}.{spec.name}: the partition needs {missing}"
            )
        self._pk_values = {f: codec.coerce(f, v) for f, v in self._pk_values.items()}
        self._sk: tuple[str, tuple[Any, ...]] | None = None
        self._reverse = False
        if sk_given and spec.native:
            self._sk = ("native", self._native_conds("=", sk_given))
        elif sk_given:
            self._sk = ("prefix", (self._texts(sk_given, partial_last=False, sep=True),))

    # -- sort key conditions -------------------------------------------------------------

    def _texts(self, values: Mapping[str, Any], *, partial_last: bool, sep: bool) -> str:
        spec = self._key
        assert spec is not None
        template = spec.sk_template
        if template is None:
            raise KeyTemplateError(f"{self._codec.model.__name__}.{spec.name} has no sort key")
        if not template.fields or (spec.sk_attrs and \
                self._codec.spec.table.attribute_type(spec.sk_attrs[0]) != "S"):
            raise KeyTemplateError(
                f"{self._codec.model.__name__}.{spec.name}: sort key conditions need a string "
                f"sort key built from fields; {template.source!r} in "
                f"{spec.sk_attrs[0]!r} ({self._codec.spec.table.attribute_type(spec.sk_attrs[0])}"
                ") is not one"
            )
        order = [f for f in template.fields if f in values]
        coerced: dict[str, Any] = {}
        for i, f in enumerate(order):
            last = i == len(order) - 1
            v = values[f]
            coerced[f] = v if (partial_last and last and isinstance(v, str)) else \
                self._codec.coerce(f, v)
        texts = self._codec.part_texts(spec, "sk", coerced)
        prefix = template.prefix(texts, partial_last=partial_last or not sep)
        complete = len(order) == len(template.fields)
        if complete and not partial_last:
            return template.format(texts)
        return prefix

    # -- native multi-attribute sort keys ------------------------------------------------

    @property
    def _native(self) -> bool:
        return self._key is not None and self._key.native

    def _where(self) -> str:
        return f"{self._codec.model.__name__}.{self._key.name if self._key else '?'}"

    def _leading(self, fields: Mapping[str, Any]) -> tuple[str, ...]:
        """The sort attributes named by ``fields``: a leading run of the declared ones."""
        spec = self._key
        assert spec is not None
        where = self._where()
        declared = spec.sk_attrs
        if not declared:
            raise KeyTemplateError(f"{where} has no sort key")
        unknown = sorted(set(fields) - set(declared))
        if unknown or not fields:
            raise KeyTemplateError(
                f"{where}: sort key conditions name the sort fields {list(declared)}; got "
                f"{sorted(fields)}"
            )
        run = declared[:len(fields)]
        if set(fields) != set(run):
            runs = " or ".join(str(list(declared[:n])) for n in range(1, len(declared) + 1))
            raise KeyTemplateError(
                f"{where}: a sort key condition names the leading sort fields {runs}, not "
                f"{sorted(fields)}: DynamoDB needs equality on every sort field before the "
                "one compared"
            )
        empty = [f for f in run if fields[f] is None]
        if empty:
            raise KeyTemplateError(f"{where}: sort key fields {empty} are None")
        return run

    def _native_value(self, name: str, value: Any, *, prefix: bool = False) -> AV:
        """One sort attribute value, encoded like the stored field (a prefix stays text)."""
        codec = self._codec
        if prefix:
            typ = key_attribute_type(codec.spec.fields[name].annotation)
            if typ != "S":
                raise KeyTemplateError(
                    f"{codec.model.__name__}.{name}: begins_with() needs a string sort "
                    f"attribute; {name!r} is stored as {typ}"
                )
            if isinstance(value, str):
                return {"S": value}
        return codec.encode_field(name, codec.coerce(name, value))

    def _native_conds(self, op: str, fields: Mapping[str, Any]) -> tuple[_Cond, ...]:
        """Equality on every field of the leading run but the last; ``op`` on the last."""
        run = self._leading(fields)
        conds = [(a, "=", (self._native_value(a, fields[a]),)) for a in run[:-1]]
        last = run[-1]
        value = self._native_value(last, fields[last], prefix=op == "begins_with")
        return (*conds, (last, op, (value,)))

    def _native_between(self, low: Mapping[str, Any], high: Mapping[str, Any]) -> tuple[
            _Cond, ...]:
        lo, hi = self._native_conds("=", low), self._native_conds("=", high)
        where = self._where()
        if [c[0] for c in lo] != [c[0] for c in hi] or lo[:-1] != hi[:-1]:
            raise KeyTemplateError(
                f"{where}: between() bounds must name the same sort fields and agree on all "
                f"but the last (those are equalities); got {sorted(low)} and {sorted(high)}"
            )
        name, low_av, high_av = lo[-1][0], lo[-1][2][0], hi[-1][2][0]
        if _greater(low_av, high_av):
            raise KeyTemplateError(f"{where}: between() on {name!r}: low is above high")
        return (*lo[:-1], (name, "between", (low_av, high_av)))

    def _set_sk(self, op: str, *values: Any) -> Query[M]:
        if self._sk is not None:
            raise InvalidRequestError("only one sort key condition per query")
        self._sk = (op, values[0] if op == "native" else values)
        return self

    def eq(self, **fields: Any) -> Query[M]:
        """Sort key equal to the key built from every sort-key field.

        On a native multi-attribute sort key: equality on the leading sort fields given.
        """
        spec = self._key
        assert spec is not None
        if self._native:
            return self._set_sk("native", self._native_conds("=", fields))
        missing = [f for f in spec.sk_fields if f not in fields]
        if missing:
            raise KeyTemplateError(f"eq() needs every sort key field; missing {missing} "
                                   "(use begins_with for a prefix)")
        return self._set_sk("=", self._texts(fields, partial_last=False, sep=True))

    def begins_with(self, **fields: Any) -> Query[M]:
        """Sort key starting with the leading fields given; the last may be a partial string."""
        if not fields:
            raise KeyTemplateError("begins_with() needs at least one sort key field")
        if self._native:
            return self._set_sk("native", self._native_conds("begins_with", fields))
        return self._set_sk("prefix", self._texts(fields, partial_last=True, sep=False))

    def between(self, low: Mapping[str, Any], high: Mapping[str, Any]) -> Query[M]:
        """Sort key between the keys built from ``low`` and ``high`` (inclusive)."""
        if self._native:
            return self._set_sk("native", self._native_between(low, high))
        lo = self._texts(low, partial_last=False, sep=False)
        hi = self._texts(high, partial_last=False, sep=True)
        if not self._complete(high):
            hi += _MAX_CHAR
        return self._set_sk("between", lo, hi)

    def _complete(self, values: Mapping[str, Any]) -> bool:
        assert self._key is not None
        return all(f in values for f in self._key.sk_fields)

    def lt(self, **fields: Any) -> Query[M]:
        """Sort key before the given leading fields."""
        if self._native:
            return self._set_sk("native", self._native_conds("<", fields))
        return self._set_sk("<", self._texts(fields, partial_last=False, sep=False))

    def le(self, **fields: Any) -> Query[M]:
        """Sort key up to and including the given leading fields."""
        if self._native:
            return self._set_sk("native", self._native_conds("<=", fields))
        text = self._texts(fields, partial_last=False, sep=True)
        return self._set_sk("<=", text if self._complete(fields) else text + _MAX_CHAR)

    def gt(self, **fields: Any) -> Query[M]:
        """Sort key after the given leading fields."""
        if self._native:
            return self._set_sk("native", self._native_conds(">", fields))
        text = self._texts(fields, partial_last=False, sep=True)
        return self._set_sk(">", text if self._complete(fields) else text + _MAX_CHAR)

    def ge(self, **fields: Any) -> Query[M]:
        """Sort key from the given leading fields on."""
        if self._native:
            return self._set_sk("native", self._native_conds(">=", fields))
        return self._set_sk(">=", self._texts(fields, partial_last=False, sep=False))

    def reverse(self, value: bool = True) -> Query[M]:
        """Descending sort key order."""
        self._reverse = value
        return self

    # -- compilation ---------------------------------------------------------------------

    def _key_condition(self, compiler: Compiler) -> str:
        spec = self._key
        assert spec is not None
        codec = self._codec
        if spec.native:
            parts = [f"{compiler.path(attr(a))} = "
                     f"{compiler.value(codec.encode_field(a, self._pk_values[a]))}"
                     for a in spec.pk_attrs]
        else:
            pk = codec.key_part(spec, 0, self._pk_values)
            parts = [f"{compiler.path(attr(spec.pk_attr))} = {compiler.value(pk)}"]
        if self._sk is None and not spec.native and spec.sk_template is not None \
                and spec.sk_template.literals[0] and self._sk_is_text():
            # The model's items all start with the template's leading text: read only them.
            sk = compiler.path(attr(spec.sk_attrs[0]))
            prefix = compiler.value({"S": spec.sk_template.literals[0]})
            parts.append(f"begins_with({sk}, {prefix})")
        if self._sk is not None and self._sk[0] == "native":
            parts.extend(_native_text(compiler, cond) for cond in self._sk[1])
        elif self._sk is not None:
            sk = compiler.path(attr(spec.sk_attrs[0]))
            op, values = self._sk
            vals = [compiler.value({"S": v}) for v in values]
            if op == "prefix":
                parts.append(f"begins_with({sk}, {vals[0]})")
            elif op == "between":
                parts.append(f"{sk} BETWEEN {vals[0]} AND {vals[1]}")
            else:
                parts.append(f"{sk} {op} {vals[0]}")
        return " AND ".join(parts)

    def _sk_is_text(self) -> bool:
        spec = self._key
        assert spec is not None
        return self._codec.spec.table.attribute_type(spec.sk_attrs[0]) == "S"

    def _compile(self, count: bool = False) -> dict[str, Any]:
        compiler = Compiler(self._codec)
        params = self._base_params(compiler)
        params["KeyConditionExpression"] = self._key_condition(compiler)
        if self._reverse:
            params["ScanIndexForward"] = False
        self._finish(params, compiler, count)
        return params


def _native_text(compiler: Compiler, cond: _Cond) -> str:
    """One native sort attribute's key condition text."""
    name, op, values = cond
    path = compiler.path(attr(name))
    vals = [compiler.value(v) for v in values]
    if op == "begins_with":
        return f"begins_with({path}, {vals[0]})"
    if op == "between":
        return f"{path} BETWEEN {vals[0]} AND {vals[1]}"
    return f"{path} {op} {vals[0]}"


def _greater(a: AV, b: AV) -> bool:
    """True when key value ``a`` sorts after ``b`` (DynamoDB order: numbers, then bytes)."""
    if "N" in a and "N" in b:
        return Decimal(a["N"]) > Decimal(b["N"])
    if "S" in a and "S" in b:
        return bool(a["S"].encode() > b["S"].encode())
    if "B" in a and "B" in b:
        return bool(bytes(a["B"]) > bytes(b["B"]))
    return False


class Scan(_Read[M]):
    """A scan over the table (or an index) keeping one model's items."""

    operation = "Scan"

    def __init__(self, reader: Reader, model: type[M], index: str | None = None) -> None:
        codec = codec_for(model)
        key = codec.spec.for_index(index) if index else None
        super().__init__(reader, codec, key)
        self._segment: tuple[int, int] | None = None

    def segment(self, segment: int, total_segments: int) -> Scan[M]:
        """Scan one segment of a parallel scan (``0 <= segment < total_segments``)."""
        if not (1 <= total_segments <= 1_000_000) or not (0 <= segment < total_segments):
            raise InvalidRequestError("need 0 <= segment < total_segments <= 1,000,000")
        self._segment = (segment, total_segments)
        return self

    def _compile(self, count: bool = False) -> dict[str, Any]:
        compiler = Compiler(self._codec)
        params = self._base_params(compiler)
        if self._segment is not None:
            params["Segment"], params["TotalSegments"] = self._segment
        self._finish(params, compiler, count)
        return params


def ensure_sequence(value: Sequence[Any] | None) -> list[Any]:
    """A list from an optional sequence."""
    return list(value or [])
