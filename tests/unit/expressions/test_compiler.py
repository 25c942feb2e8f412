"""The compiler: conditions, updates and projections with shared placeholders."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dyntable import F, if_not_exists, list_append
from dyntable.codec import codec_for
from dyntable.errors import ExpressionError, InvalidValueError
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Condition
from dyntable.expressions.updates import Action
from tests.models import Customer, Order, OrderLine, Tier


def _compile(cond: Condition, model: Any = Order) -> tuple[str, dict[str, Any]]:
    c = Compiler(codec_for(model))
    return c.condition(cond), c.params()


@pytest.mark.parametrize(
    ("cond", "text"),
    [
        (F.note == "x", "#n0 = :v0"),
        (F.note != "x", "#n0 <> :v0"),
        (F.note < "x", "#n0 < :v0"),
        (F.note <= "x", "#n0 <= :v0"),
        (F.note > "x", "#n0 > :v0"),
        (F.note >= "x", "#n0 >= :v0"),
        (F.note.between("a", "b"), "#n0 BETWEEN :v0 AND :v1"),
        (F.note.is_in("a", "b"), "#n0 IN (:v0, :v1)"),
        (F.note.begins_with("a"), "begins_with(#n0, :v0)"),
        (F.note.contains("a"), "contains(#n0, :v0)"),
        (F.note.exists(), "attribute_exists(#n0)"),
        (F.note.not_exists(), "attribute_not_exists(#n0)"),
        (F.note.is_type("S"), "attribute_type(#n0, :v0)"),
        (F.note.size() > 3, "size(#n0) > :v0"),
        ((F.note == "a") & (F.note == "b"), "#n0 = :v0 AND #n0 = :v1"),
        ((F.note == "a") | (F.note == "b"), "#n0 = :v0 OR #n0 = :v1"),
        (~(F.note == "a"), "NOT #n0 = :v0"),
        (((F.note == "a") | (F.note == "b")) & ~(F.note.exists() & F.note.exists()),
         "(#n0 = :v0 OR #n0 = :v1) AND (NOT (attribute_exists(#n0) AND attribute_exists(#n0)))"),
    ],
)
def test_condition_text(cond: Condition, text: str) -> None:
    compiled, params = _compile(cond)
    assert compiled == text
    assert params["ExpressionAttributeNames"] == {"#n0": "note"}


def test_values_use_the_field_codec() -> None:
    at = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
    _, p = _compile((F.placed_at > at) & (F.total == Decimal("9.50"))
                    & (F.ship_by == date(2026, 1, 2)) & (F.expires_at < at))
    assert p["ExpressionAttributeValues"] == {
        ":v0": {"S": "2026-11-01T12:00:00.000000Z"},
        ":v1": {"N": "9.50"},
        ":v2": {"S": "2026-01-02"},
        ":v3": {"N": str(int(at.timestamp()))},  # TTL: epoch seconds
    }
    _, p = _compile(F.tier == Tier.GOLD, Customer)
    assert p["ExpressionAttributeValues"] == {":v0": {"S": "gold"}}


def test_partial_datetime_text_compares_as_its_stored_string() -> None:
    _, p = _compile(F.placed_at.between("2026-11", "2026-12"))
    assert p["ExpressionAttributeValues"] == {":v0": {"S": "2026-11"}, ":v1": {"S": "2026-12"}}


def test_contains_on_a_set_encodes_an_element() -> None:
    text, p = _compile(F.tags.contains("vip"), Customer)
    assert text == "contains(#n0, :v0)"
    assert p["ExpressionAttributeValues"] == {":v0": {"S": "vip"}}


def test_nested_paths_and_list_indexes() -> None:
    text, p = _compile((F.address.city == "Paris") & F.address.postcode.exists(), Customer)
    assert text == "#n0.#n1 = :v0 AND attribute_exists(#n0.#n2)"
    assert p["ExpressionAttributeNames"] == {"#n0": "address", "#n1": "city", "#n2": "postcode"}
    text, p = _compile(F.attributes["colour"].exists(), OrderLine)
    assert text == "attribute_exists(#n0.#n1)"
    c = Compiler(codec_for(Customer))
    assert c.path(F["tags"]) == "#n0"


def test_list_index_path() -> None:
    from tests.models import Product

    text, p = _compile(F.categories[2] == "toys", Product)
    assert text == "#n0[2] = :v0"
    assert p["ExpressionAttributeNames"] == {"#n0": "categories"}


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        (F.nope == 1, r"Order has no field 'nope' \(did you mean 'note' for 'nope'\?\) "
                      r"\(fields: \['expires_at', 'note', 'order_id'"),
        (F.note.city == 1, r"Order.note is a str; it has no attribute 'city'"),
        (F.note[0] == 1, r"Order.note is not a list; \[0\] does not apply"),
    ],
)
def test_unknown_paths(cond: Condition, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        _compile(cond)


def test_unknown_nested_field_lists_the_fields() -> None:
    with pytest.raises(ExpressionError, match=r"address \(Address\) has no field 'zip' "
                       r"\(fields: \['city', 'postcode', 'street'\]\)"):
        _compile(F.address.zip == "1", Customer)


def test_in_takes_at_most_100_values() -> None:
    _compile(F.note.is_in(*[str(i) for i in range(100)]))
    with pytest.raises(ExpressionError, match="IN takes at most 100 values, got 101"):
        _compile(F.note.is_in([str(i) for i in range(101)]))
    with pytest.raises(ExpressionError, match="IN needs at least one value"):
        _compile(F.note.is_in())


def test_expression_over_4_kb_is_refused() -> None:
    conds = [F.note == str(i) for i in range(400)]
    big: Condition = conds[0]
    for c in conds[1:]:
        big = big | c
    with pytest.raises(ExpressionError, match=r"condition expression is \d+ characters; "
                       r"DynamoDB allows 4096 bytes"):
        _compile(big)


def test_empty_set_in_an_expression_is_refused() -> None:
    with pytest.raises(InvalidValueError, match=r"Customer.tags: an empty set cannot be used"):
        _compile(F.tags == set(), Customer)


def test_nan_in_an_expression_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="NaN and infinity"):
        _compile(F.total > Decimal("NaN"))


def test_conditions_have_no_truth_value() -> None:
    with pytest.raises(TypeError, match="has no truth value"):
        bool(F.note == "x")
    with pytest.raises(TypeError, match="has no truth value"):
        if F.note.exists():  # pragma: no branch
            pass


def test_bad_attribute_type_code() -> None:
    with pytest.raises(ExpressionError, match=r"type must be one of"):
        F.note.is_type("STRING")


def test_placeholders_are_shared_across_condition_update_and_projection() -> None:
    c = Compiler(codec_for(Customer))
    cond = c.condition(F.name == "Ada")
    update = c.update([Action("SET", F.name, "Ada L."), Action("ADD", F.order_count, 1)])
    proj = c.projection([F.name, F.order_count])
    assert cond == "#n0 = :v0"
    assert update == "SET #n0 = :v1 ADD #n1 :v2"
    assert proj == "#n0, #n1"
    assert c.params() == {
        "ExpressionAttributeNames": {"#n0": "name", "#n1": "order_count"},
        "ExpressionAttributeValues": {":v0": {"S": "Ada"}, ":v1": {"S": "Ada L."},
                                      ":v2": {"N": "1"}},
    }


def test_update_clauses() -> None:
    c = Compiler(codec_for(Customer))
    text = c.update([
        Action("SET", F.order_count, F.order_count + 1),
        Action("SET", F.address.city, "Paris"),
        Action("SET", F.name, if_not_exists(F.name, "anon")),
        Action("REMOVE", F.email),
        Action("ADD", F.tags, {"vip"}),
    ])
    assert text == ("SET #n0 = #n0 + :v0, #n1.#n2 = :v1, #n3 = if_not_exists(#n3, :v2) "
                    "REMOVE #n4 ADD #n5 :v3")
    assert c.values[":v3"] == {"SS": ["vip"]}


def test_update_list_append() -> None:
    from tests.models import Product

    c = Compiler(codec_for(Product))
    text = c.update([Action("SET", F.categories,
                            list_append(if_not_exists(F.categories, []), ["a"]))])
    assert text == "SET #n0 = list_append(if_not_exists(#n0, :v0), :v1)"
    assert c.values == {":v0": {"L": []}, ":v1": {"L": [{"S": "a"}]}}


def test_update_errors() -> None:
    c = Compiler(codec_for(Customer))
    with pytest.raises(ExpressionError, match="overlapping paths"):
        c.update([Action("SET", F.address, None), Action("SET", F.address.city, "x")])
    with pytest.raises(ExpressionError, match="ADD name: takes a number or a set"):
        Compiler(codec_for(Customer)).update([Action("ADD", F.name, "x")])
    with pytest.raises(ExpressionError, match="DELETE order_count: takes a set"):
        Compiler(codec_for(Customer)).update([Action("DELETE", F.order_count, 1)])
    with pytest.raises(ExpressionError, match="at least one action"):
        Compiler(codec_for(Customer)).update([])


# -- property: user data never enters expression text -------------------------------------

def _texts(values: list[str]) -> tuple[str, str, list[Any]]:
    c = Compiler(codec_for(Customer))
    cond = F.name.is_in(values) | F.email.begins_with(values[0]) | F.tags.contains(values[-1])
    text = c.condition(cond)
    update = c.update([Action("SET", F.name, values[0]),
                       Action("SET", F.address.city, values[-1])])
    return text, update, list(c.values.values())


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.text(min_size=1), min_size=1, max_size=5))
def test_values_never_appear_in_expression_text(values: list[str]) -> None:
    text, update, stored = _texts(values)
    # The text depends on the structure only: the same request with other values is equal.
    dummy_text, dummy_update, _ = _texts(["x"] * len(values))
    assert (text, update) == (dummy_text, dummy_update)
    assert {"S": values[0]} in stored and {"S": values[-1]} in stored
    for v in values:
        if v not in dummy_text:
            assert v not in text


def test_long_or_chains_compile_flat() -> None:
    cond: Condition = F.note == "0"
    for i in range(1, 50):
        cond = cond | (F.note == str(i))
    text, _ = _compile(cond)
    assert text.count(" OR ") == 49
    assert "(" not in text
