"""Key templates: parsing, filling, prefixes, and values that would break them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dyntable._internal.schema.templates import Template
from dyntable.errors import KeyTemplateError

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
    with pytest.raises(KeyTemplateError, match=r"'placed_at' contains '#', a separator"):
        ORDER.format({"placed_at": "2026#11", "order_id": "o1"})


def test_last_field_may_not_contain_the_separator() -> None:
    # issue 12, defect 2: "USER#{user_id}" with user_id "u1#ROLE#admin" was the key of the
    # role item "USER#{user_id}#ROLE#{role}" of user u1
    user = Template.parse("USER#{user_id}")
    role = Template.parse("USER#{user_id}#ROLE#{role}")
    forged = role.format({"user_id": "u1", "role": "admin"})
    with pytest.raises(KeyTemplateError, match=r"'user_id' contains '#', a separator"):
        user.format({"user_id": "u1#ROLE#admin"})
    with pytest.raises(KeyTemplateError, match=r"'order_id' contains '#'"):
        ORDER.format({"placed_at": "2026", "order_id": "a#b"})
    assert forged == "USER#u1#ROLE#admin"


def test_every_separator_character_is_refused() -> None:
    t = Template.parse("{a}--{b}")
    assert t.separators == "-"
    with pytest.raises(KeyTemplateError, match="contains '-'"):
        t.format({"a": "x-", "b": "y"})
    with pytest.raises(KeyTemplateError, match="contains '-'"):
        t.format({"a": "x", "b": "-y"})
    assert Template.parse("ORDER:{day}|{id}").separators == ":|"
    assert Template.parse("{a}").separators == ""


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
        # refused only when a value contains a separator character of the template, or
        # (part of) the literal that follows it
        assert any(sep in v for v in values.values() for sep in t.separators) or any(
            (values[f] + t.literals[i + 1]).find(t.literals[i + 1]) != len(values[f])
            for i, f in enumerate(("a", "b")))
        return
    assert t.parse_value(key) == values


@settings(deadline=None)
@given(
    user=st.text(min_size=1), other=st.text(min_size=1), role=st.text(min_size=1),
)
def test_keys_of_two_templates_never_collide(user: str, other: str, role: str) -> None:
    short = Template.parse("USER#{user_id}")
    long = Template.parse("USER#{user_id}#ROLE#{role}")
    try:
        a = short.format({"user_id": user})
        b = long.format({"user_id": other, "role": role})
    except KeyTemplateError:
        return
    assert a != b
