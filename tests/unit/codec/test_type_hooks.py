"""Type hooks: a custom encode/decode pair per field (``Annotated[Money, TypeHook(...)]``)
or per Python type for a whole table (``Table(type_hooks=...)``), compiled into the codec."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any, cast

import pytest
from pydantic import BaseModel, ConfigDict

from dyntable import Format, Key, Model, Table, TypeHook, Version
from dyntable.codec import codec_for
from dyntable.errors import DeclarationError, DecodeError, InvalidValueError


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


class Colour:
    """An arbitrary class (not a pydantic type): needs arbitrary_types_allowed."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Colour) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


def _money_text(m: Money) -> str:
    return f"{m.amount} {m.currency}"


def _parse_money(text: str) -> Money:
    amount, currency = text.split()
    return Money(Decimal(amount), currency)


money_as_text = TypeHook(encode=_money_text, decode=_parse_money)
money_as_map = TypeHook(encode=lambda m: {"amount": m.amount, "currency": m.currency},
                        decode=lambda d: Money(d["amount"], d["currency"]))
table = Table("hooks", type_hooks={Money: money_as_text})


class Invoice(Model, table=table, entity="invoice"):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str
    total: Money                                            # the table's hook
    refund: Money | None = None                             # the table's hook, optional
    paid: Annotated[Money, money_as_map] | None = None      # its own hook wins
    colour: Annotated[Colour, TypeHook(encode=lambda c: c.name, decode=Colour)] | None = None
    tags: Annotated[frozenset[str], TypeHook(encode=set, decode=frozenset)] = frozenset()
    raw: Annotated[bytes, TypeHook(encode=lambda b: b[::-1], decode=lambda b: b[::-1])] = b""
    ids: Annotated[list[int], TypeHook(encode=lambda xs: set(xs), decode=sorted)] = []
    version: Annotated[int, Version] = 0

    primary = Key(pk="INVOICE#{id}", sk="INVOICE")


codec = codec_for(Invoice)
EUR = Money(Decimal("12.50"), "EUR")


def test_table_and_field_hooks_write_their_stored_form() -> None:
    item = codec.encode(Invoice(id="i1", total=EUR, refund=Money(Decimal(1), "EUR"),
                                paid=EUR, colour=Colour("red"), tags=frozenset({"a"}),
                                raw=b"ab", ids=[3, 1]))
    assert item["total"] == {"S": "12.50 EUR"}
    assert item["refund"] == {"S": "1 EUR"}
    assert item["paid"] == {"M": {"amount": {"N": "12.50"}, "currency": {"S": "EUR"}}}
    assert item["colour"] == {"S": "red"}
    assert item["tags"] == {"SS": ["a"]}
    assert item["raw"] == {"B": b"ba"}
    assert sorted(item["ids"]["NS"]) == ["1", "3"]
    assert item["version"] == {"N": "0"}        # the version field keeps its own encoding


def test_round_trip_through_the_hooks() -> None:
    obj = Invoice(id="i1", total=EUR, paid=Money(Decimal("0.5"), "USD"),
                  colour=Colour("blue"), tags=frozenset({"a", "b"}), raw=b"xyz", ids=[1, 2])
    assert codec.decode(codec.encode(obj)) == obj


def test_a_hook_returning_none_leaves_the_attribute_out() -> None:
    t = Table("hooks-none")

    class Maybe(Model, table=t, entity="maybe"):
        id: str
        note: Annotated[str, TypeHook(encode=lambda s: s or None, decode=str)] = ""
        primary = Key(pk="M#{id}", sk="M")

    item = codec_for(Maybe).encode(Maybe(id="m", note=""))
    assert "note" not in item
    assert codec_for(Maybe).decode(item).note == ""


def test_hook_errors_name_the_field() -> None:
    bad = Invoice(id="i1", total=EUR)
    bad.__dict__["total"] = "not money"
    with pytest.raises(InvalidValueError, match=r"Invoice: total: type hook _money_text "
                       r"failed on 'not money': AttributeError"):
        codec.encode(bad)
    item = codec.encode(Invoice(id="i1", total=EUR))
    item["total"] = {"S": "twelve"}
    with pytest.raises(DecodeError, match=r"total: type hook _parse_money failed on stored "
                       r"'twelve': ValueError"):
        codec.decode(item)


def test_encode_field_and_coerce_use_the_hooks() -> None:
    """Conditions and updates encode through encode_field; coerce validates loose values
    of an arbitrary (hooked) type."""
    assert codec.encode_field("total", EUR) == {"S": "12.50 EUR"}
    assert codec.encode_field("colour", Colour("red")) == {"S": "red"}
    assert codec.coerce("colour", Colour("red")) == Colour("red")


def test_partial_decode_applies_hooks() -> None:
    item = codec.encode(Invoice(id="i1", total=EUR, colour=Colour("red")))
    partial = codec.decode_partial({k: v for k, v in item.items() if k != "version"})
    assert partial.total == EUR and partial.colour == Colour("red")


def test_table_keeps_its_hooks() -> None:
    assert table.type_hooks == {Money: money_as_text}
    assert Table("no-hooks").type_hooks == {}


@pytest.mark.parametrize("hooks", [{Money: _money_text}, {"Money": money_as_text}])
def test_type_hooks_must_map_types_to_type_hooks(hooks: Any) -> None:
    with pytest.raises(DeclarationError, match="type_hooks maps Python types to TypeHook"):
        Table("bad-hooks", type_hooks=hooks)


def test_type_hook_takes_callables() -> None:
    with pytest.raises(DeclarationError, match="takes two callables"):
        TypeHook(encode=cast(Any, "str"), decode=str)


def _declare(t: Table, annotation: Any, *, sk: str = "X", extra: Any = None) -> None:
    annotations = {"id": str, "value": annotation}
    namespace = {"__annotations__": annotations, "primary": Key(pk="X#{id}", sk=sk),
                 "__module__": __name__,
                 "model_config": ConfigDict(arbitrary_types_allowed=True)}
    type("Bad", (Model,), namespace, table=t, entity="bad")


def test_a_table_hook_cannot_reach_inside_containers() -> None:
    with pytest.raises(DeclarationError, match=r"Bad.value: the table's type hook for Money "
                       "applies to fields of that type"):
        _declare(table, list[Money])


def test_a_table_hook_does_not_reach_nested_models() -> None:
    class Line(BaseModel):
        price: Money

    with pytest.raises(DeclarationError, match=r"Line.price \(in Bad.value\): the table's "
                       "type hooks apply to the fields of its models, not to nested models"):
        _declare(table, Line)


def test_a_nested_models_own_hook_applies() -> None:
    class Line(BaseModel):
        price: Annotated[Money, money_as_text]

    t = Table("hooks-nested")

    class Cart(Model, table=t, entity="cart"):
        id: str
        lines: list[Line]
        primary = Key(pk="C#{id}", sk="C")

    c = codec_for(Cart)
    item = c.encode(Cart(id="c", lines=[Line(price=EUR)]))
    assert item["lines"] == {"L": [{"M": {"price": {"S": "12.50 EUR"}}}]}
    assert c.decode(item).lines == [Line(price=EUR)]


def test_a_hook_on_a_key_template_field_is_refused() -> None:
    with pytest.raises(DeclarationError, match=r"Bad.value: a TypeHook cannot apply to a "
                       r"key field, used by key template"):
        _declare(table, Money, sk="X#{value}")


def test_a_hook_and_a_format_on_one_field_are_refused() -> None:
    with pytest.raises(DeclarationError, match="give a field one Format or TypeHook"):
        _declare(Table("hooks-two"), Annotated[datetime, Format.EPOCH_SECONDS, money_as_text])


def test_table_hooks_skip_the_ttl_and_version_fields() -> None:
    to_text = TypeHook(encode=str, decode=int)
    t = Table("hooks-int", ttl="expires", type_hooks={int: to_text, datetime: to_text})

    class Counter(Model, table=t, entity="counter"):
        id: str
        hits: int = 0
        version: Annotated[int, Version] = 0
        expires: datetime | None = None
        primary = Key(pk="C#{id}", sk="C")

    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    item = codec_for(Counter).encode(Counter(id="c", hits=3, expires=when))
    assert item["hits"] == {"S": "3"}
    assert item["version"] == {"N": "0"} and item["expires"] == {"N": "1767225600"}
