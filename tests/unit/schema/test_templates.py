"""Key templates: parsing, filling, prefixes, and values that would break them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dyntable.errors import KeyTemplateError
from dyntable.schema.templates import Template

ORDER = Template.parse("ORDER#{placed_at}#{order_id}")


def test_parse_splits_literals_fields_and_specs() -> None:
    t = Template.parse("LINE#{order_id}#{line:04d}")
    assert t.literals == ("LINE#", "#", "")
    assert t.fields == ("order_id", "line")
    assert t.specs == ("", "04d")
    assert Template.parse("METADATA").is_constant
    assert Template.parse("{a}").is_single_field


def test_format_and_parse_value() -> None:
    key = ORDER.format({"placed_at": "2026-11-26", "order_id": "o-1"})
    assert key == "ORDER#2026-11-26#o-1"
    assert ORDER.parse_value(key) == {"placed_at": "2026-11-26", "order_id": "o-1"}
    assert ORDER.parse_value("CUSTOMER#ada") is None


def test_separator_inside_a_value_is_refused() -> None:
    with pytest.raises(KeyTemplateError, match=r"'placed_at' contains the separator '#'"):
        ORDER.format({"placed_at": "2026#11", "order_id": "o1"})


def test_last_field_may_contain_the_separator() -> None:
    key = ORDER.format({"placed_at": "2026", "order_id": "a#b"})
    assert ORDER.parse_value(key) == {"placed_at": "2026", "order_id": "a#b"}


def test_value_ending_with_part_of_a_long_separator_is_refused() -> None:
    t = Template.parse("{a}--{b}")
    with pytest.raises(KeyTemplateError, match="separator '--'"):
        t.format({"a": "x-", "b": "y"})


def test_empty_key_part_is_refused() -> None:
    with pytest.raises(KeyTemplateError, match=r"key field 'order_id' is empty"):
        ORDER.format({"placed_at": "2026", "order_id": ""})


def test_missing_field_is_refused() -> None:
    with pytest.raises(KeyTemplateError, match=r"'order_id' is required by template"):
        ORDER.format({"placed_at": "2026"})


def test_prefix_from_leading_fields() -> None:
    assert ORDER.prefix({}) == "ORDER#"
    assert ORDER.prefix({"placed_at": "2026-11-26"}) == "ORDER#2026-11-26#"
    assert ORDER.prefix({"placed_at": "2026-11"}, partial_last=True) == "ORDER#2026-11"


def test_prefix_fields_must_be_given_from_the_left() -> None:
    with pytest.raises(KeyTemplateError, match=r"\['order_id'\] given without 'placed_at'"):
        ORDER.prefix({"order_id": "o1"})


_SEP = "#"
_text = st.text(min_size=1).filter(lambda s: _SEP not in s)


@settings(deadline=None)
@given(
    literals=st.lists(st.text(alphabet="ABC#:_-", max_size=4), min_size=3, max_size=3),
    a=_text,
    b=_text,
    c=st.text(min_size=1),
)
def test_format_parse_round_trip(literals: list[str], a: str, b: str, c: str) -> None:
    lit = [x.replace("{", "").replace("}", "") for x in literals]
    lit[1] = lit[1] or _SEP
    lit[2] = lit[2] or _SEP
    source = f"{lit[0]}{{a}}{lit[1]}{{b}}{lit[2]}{{c}}"
    t = Template.parse(source)
    values = {"a": a, "b": b, "c": c}
    try:
        key = t.format(values)
    except KeyTemplateError:
        # refused only when a value really contains (part of) the separator after it
        assert any((values[f] + t.literals[i + 1]).find(t.literals[i + 1]) != len(values[f])
                   for i, f in enumerate(("a", "b")))
        return
    assert t.parse_value(key) == values
