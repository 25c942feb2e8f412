"""Queries on a model's key: partition from fields, sort-key conditions from the template.

``limit(n)`` counts items *returned*, not items evaluated (see :mod:`.reads`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from dyntable._internal.codec.items import codec_for, suggest
from dyntable._internal.operations.reads import ReadBuilder, ReadContext
from dyntable._internal.operations.tables import key_attribute_type
from dyntable.errors import InvalidRequestError, KeyTemplateError
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Condition, Encoded, all_of
from dyntable.expressions.paths import attr

if TYPE_CHECKING:
    from typing_extensions import Self

    from dyntable.schema.keys import ModelKey
    from dyntable.schema.model import Model

__all__ = ["QueryBuilder"]

M = TypeVar("M", bound="Model")
AV = dict[str, Any]
#: One native sort attribute condition: (attribute, operator, encoded values).
_Cond = tuple[str, str, tuple[AV, ...]]
_MAX_CHAR = "\U0010ffff"


class QueryBuilder(ReadBuilder[M]):
    """A query on a model's key (``db.query(Order.primary, username="ada")``), no I/O.

    On a native multi-attribute GSI key (``GSI(pk=[...], sk=[...])``) every partition field is
    required, and a sort key condition names a *leading run* of the declared sort fields
    (``created``, or ``created`` and ``order_id`` for ``sk=["created", "order_id"]``; never
    ``order_id`` alone): every field but the last is compared with ``=``, the method's
    operator applies to the last. ``gt(created=x, order_id="o5")`` is ``created = x AND
    order_id > "o5"``; ``eq`` and sort fields given to ``query()`` are equalities throughout;
    ``between(low, high)`` bounds agree on all fields but the last; ``begins_with`` takes a
    string attribute. Values are encoded like the stored fields (numbers compare as numbers).
    """

    entity_on_client = True

    operation = "Query"

    def __init__(self, context: ReadContext, key: ModelKey[M], fields: Mapping[str, Any]
                 ) -> None:
        if not hasattr(key, "spec") or not hasattr(key, "model"):
            raise InvalidRequestError("query() takes a key read from a model, e.g. Order.primary")
        codec = codec_for(key.model)
        super().__init__(context, codec, key.spec)
        spec = key.spec
        self._pk_values = {f: v for f, v in fields.items() if f in spec.pk_fields}
        sk_given = {f: v for f, v in fields.items() if f not in spec.pk_fields}
        unknown = [f for f in sk_given if f not in spec.sk_fields]
        if unknown:
            raise KeyTemplateError(
                f"{codec.model.__name__}.{spec.name}: {unknown} are not fields of this key"
                f"{suggest(unknown, spec.fields)} (partition: {list(spec.pk_fields)}, sort: "
                f"{list(spec.sk_fields)})"
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
        self._check_sk_names(values)
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

    def _check_sk_names(self, values: Mapping[str, Any]) -> None:
        """Refuse names that are not fields of the sort key template (typos)."""
        template = self._key.sk_template if self._key is not None else None
        if template is None:
            return
        unknown = [f for f in values if f not in template.fields]
        if unknown:
            raise KeyTemplateError(
                f"{self._where()}: {unknown} are not sort key fields"
                f"{suggest(unknown, template.fields)}; the sort key fields are "
                f"{list(template.fields)} ({template.source!r})"
            )

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

    def _set_sk(self, op: str, *values: Any) -> Self:
        if self._sk is not None:
            raise InvalidRequestError("only one sort key condition per query")
        self._sk = (op, values[0] if op == "native" else values)
        return self

    def eq(self, **fields: Any) -> Self:
        """Sort key equal to the key built from every sort-key field.

        On a native multi-attribute sort key: equality on the leading sort fields given.
        """
        spec = self._key
        assert spec is not None
        if self._native:
            return self._set_sk("native", self._native_conds("=", fields))
        self._check_sk_names(fields)
        missing = [f for f in spec.sk_fields if f not in fields]
        if missing:
            raise KeyTemplateError(f"eq() needs every sort key field; missing {missing} "
                                   "(use begins_with for a prefix)")
        return self._set_sk("=", self._texts(fields, partial_last=False, sep=True))

    def begins_with(self, **fields: Any) -> Self:
        """Sort key starting with the leading fields given; the last may be a partial string."""
        if not fields:
            raise KeyTemplateError("begins_with() needs at least one sort key field")
        if self._native:
            return self._set_sk("native", self._native_conds("begins_with", fields))
        return self._set_sk("prefix", self._texts(fields, partial_last=True, sep=False))

    def between(self, low: Mapping[str, Any], high: Mapping[str, Any]) -> Self:
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

    def lt(self, **fields: Any) -> Self:
        """Sort key before the given leading fields."""
        if self._native:
            return self._set_sk("native", self._native_conds("<", fields))
        return self._set_sk("<", self._texts(fields, partial_last=False, sep=False))

    def le(self, **fields: Any) -> Self:
        """Sort key up to and including the given leading fields."""
        if self._native:
            return self._set_sk("native", self._native_conds("<=", fields))
        text = self._texts(fields, partial_last=False, sep=True)
        return self._set_sk("<=", text if self._complete(fields) else text + _MAX_CHAR)

    def gt(self, **fields: Any) -> Self:
        """Sort key after the given leading fields."""
        if self._native:
            return self._set_sk("native", self._native_conds(">", fields))
        text = self._texts(fields, partial_last=False, sep=True)
        return self._set_sk(">", text if self._complete(fields) else text + _MAX_CHAR)

    def ge(self, **fields: Any) -> Self:
        """Sort key from the given leading fields on."""
        if self._native:
            return self._set_sk("native", self._native_conds(">=", fields))
        return self._set_sk(">=", self._texts(fields, partial_last=False, sep=False))

    def reverse(self, value: bool = True) -> Self:
        """Descending sort key order."""
        self._reverse = value
        return self

    # -- compilation ---------------------------------------------------------------------

    def _key_condition(self) -> Condition:
        """The key condition as condition nodes (compiled by the Compiler)."""
        spec = self._key
        assert spec is not None
        codec = self._codec
        parts: list[Condition | None] = []
        if spec.native:
            parts += [attr(a) == Encoded(codec.encode_field(a, self._pk_values[a]))
                      for a in spec.pk_attrs]
        else:
            pk = codec.key_part(spec, 0, self._pk_values)
            parts.append(attr(spec.pk_attr) == Encoded(pk))
        if self._sk is None and not spec.native and spec.sk_template is not None \
                and spec.sk_template.literals[0] and self._sk_is_text():
            # The model's items all start with the template's leading text: read only them.
            parts.append(attr(spec.sk_attrs[0]).begins_with(
                Encoded({"S": spec.sk_template.literals[0]})))
        if self._sk is not None and self._sk[0] == "native":
            parts.extend(_native_condition(cond) for cond in self._sk[1])
        elif self._sk is not None:
            sk = attr(spec.sk_attrs[0])
            op, values = self._sk
            vals = [Encoded({"S": v}) for v in values]
            if op == "prefix":
                parts.append(sk.begins_with(vals[0]))
            elif op == "between":
                parts.append(sk.between(vals[0], vals[1]))
            else:
                parts.append(_COMPARE[op](sk, vals[0]))
        condition = all_of(*parts)
        assert condition is not None
        return condition

    def _sk_is_text(self) -> bool:
        spec = self._key
        assert spec is not None
        return self._codec.spec.table.attribute_type(spec.sk_attrs[0]) == "S"

    def _compile(self, count: bool = False) -> dict[str, Any]:
        compiler = Compiler(self._codec)
        params = self._base_params(compiler)
        params["KeyConditionExpression"] = compiler.key_condition(self._key_condition())
        if self._reverse:
            params["ScanIndexForward"] = False
        self._finish(params, compiler, count)
        return params


_COMPARE: dict[str, Any] = {
    "=": lambda path, value: path == value,
    "<": lambda path, value: path < value,
    "<=": lambda path, value: path <= value,
    ">": lambda path, value: path > value,
    ">=": lambda path, value: path >= value,
}


def _native_condition(cond: _Cond) -> Condition:
    """One native sort attribute's key condition."""
    name, op, values = cond
    path = attr(name)
    vals = [Encoded(v) for v in values]
    if op == "begins_with":
        return path.begins_with(vals[0])
    if op == "between":
        return path.between(vals[0], vals[1])
    result: Condition = _COMPARE[op](path, vals[0])
    return result


def _greater(a: AV, b: AV) -> bool:
    """True when key value ``a`` sorts after ``b`` (DynamoDB order: numbers, then bytes)."""
    if "N" in a and "N" in b:
        return Decimal(a["N"]) > Decimal(b["N"])
    if "S" in a and "S" in b:
        return bool(a["S"].encode() > b["S"].encode())
    if "B" in a and "B" in b:
        return bool(bytes(a["B"]) > bytes(b["B"]))
    return False
