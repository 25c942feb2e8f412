"""Bad declarations fail at class creation with a DeclarationError that says why."""

from __future__ import annotations

import types
from datetime import datetime
from typing import Annotated

import pytest

from dyntable import GSI, LSI, TTL, Key, Model, Table, Version
from dyntable.errors import DeclarationError


def _table(**kw: object) -> Table:
    return Table(
        "decl",
        gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK")],
        lsis=[LSI("LSI1", sk="LSI1SK")],
        ttl="expires_at",
        **kw,  # type: ignore[arg-type]
    )


def test_template_field_missing_from_model() -> None:
    with pytest.raises(DeclarationError, match=r"names 'user_id', which is not a field") as e:

        class Bad(Model, table=_table(), entity="bad"):
            username: str
            primary = Key(pk="USER#{user_id}", sk="X")

    assert "fields: ['username']" in str(e.value)


def test_index_not_on_table() -> None:
    message = r"has no index 'GSI9' \(indexes: \['GSI1', 'LSI1'\]"
    with pytest.raises(DeclarationError, match=message):

        class Bad(Model, table=_table(), entity="bad"):
            a: str
            primary = Key(pk="A#{a}", sk="A")
            other = Key(index="GSI9", pk="{a}", sk="{a}")


def test_lsi_with_another_partition_key() -> None:
    with pytest.raises(DeclarationError, match=r"LSI 'LSI1' shares the table's partition key"):

        class Bad(Model, table=_table(), entity="bad"):
            a: str
            b: str
            primary = Key(pk="A#{a}", sk="A")
            local = Key(index="LSI1", pk="B#{b}", sk="{b}")


def test_lsi_with_the_primary_partition_key_is_fine() -> None:
    class Good(Model, table=_table(), entity="good"):
        a: str
        b: str
        primary = Key(pk="A#{a}", sk="A")
        local = Key(index="LSI1", pk="A#{a}", sk="{b}")

    assert Good.local.spec.pk_attrs == ("PK",)
    assert Good.local.spec.sk_attrs == ("LSI1SK",)


def test_two_entities_with_one_name() -> None:
    table = _table()

    class First(Model, table=table, entity="thing"):
        a: str
        primary = Key(pk="A#{a}", sk="A")

    with pytest.raises(DeclarationError, match=r"entity 'thing' is already used by .*First"):

        class Second(Model, table=table, entity="thing"):
            a: str
            primary = Key(pk="A#{a}", sk="A")

    assert table.model_for("thing") is First


@pytest.mark.parametrize("name", ["PK", "SK", "GSI1PK", "LSI1SK", "entity_kind"])
def test_field_named_like_a_key_attribute(name: str) -> None:
    table = _table(entity_attribute="entity_kind")

    def body(ns: dict[str, object]) -> None:
        ns["__annotations__"] = {"a": str, name: str}
        ns["primary"] = Key(pk="A#{a}", sk="A")
        ns["__module__"] = __name__

    with pytest.raises(DeclarationError, match=rf"\.{name}: the field is named like the table"):
        types.new_class("Bad", (Model,), {"table": table, "entity": "bad"}, body)


def test_two_version_fields() -> None:
    with pytest.raises(DeclarationError, match=r"two version fields \['v1', 'v2'\]"):

        class Bad(Model, table=_table(), entity="bad"):
            a: str
            v1: Annotated[int, Version] = 0
            v2: Annotated[int, Version] = 0
            primary = Key(pk="A#{a}", sk="A")


def test_two_ttl_fields() -> None:
    with pytest.raises(DeclarationError, match=r"two TTL fields \['expires_at', 'gone_at'\]"):

        class Bad(Model, table=_table(), entity="bad"):
            a: str
            expires_at: Annotated[datetime | None, TTL] = None
            gone_at: Annotated[datetime | None, TTL] = None
            primary = Key(pk="A#{a}", sk="A")


def test_ttl_field_needs_a_table_ttl() -> None:
    with pytest.raises(DeclarationError, match=r"marked TTL but table 'plain' declares no ttl"):

        class Bad(Model, table=Table("plain"), entity="bad"):
            a: str
            expires_at: Annotated[datetime | None, TTL] = None
            primary = Key(pk="A#{a}", sk="A")


def test_version_must_be_int() -> None:
    with pytest.raises(DeclarationError, match=r"\.v: a version field must be an int"):

        class Bad(Model, table=_table(), entity="bad"):
            a: str
            v: Annotated[str, Version] = ""
            primary = Key(pk="A#{a}", sk="A")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("USER#{a", "stray brace"),
        ("USER#a}", "stray brace"),
        ("USER#{a}}", "stray brace"),
        ("{{a}}", "stray brace"),
        ("{1a}", "stray brace"),
        ("{a}{b}", r"fields \{a\} and \{b\} need a separator"),
        ("{a}#{a}", "names a field twice"),
        ("", "empty key template"),
    ],
)
def test_malformed_templates(template: str, message: str) -> None:
    with pytest.raises(DeclarationError, match=message):

        class Bad(Model, table=_table(), entity="bad"):
            a: str
            b: str
            primary = Key(pk=template, sk="A")


def test_missing_primary_key() -> None:
    with pytest.raises(DeclarationError, match=r"declare its primary key"):

        class Bad(Model, table=_table(), entity="bad"):
            a: str


def test_two_keys_on_one_index() -> None:
    with pytest.raises(DeclarationError, match=r"two keys on index 'GSI1' \(one, two\)"):

        class Bad(Model, table=_table(), entity="bad"):
            a: str
            primary = Key(pk="A#{a}", sk="A")
            one = Key(index="GSI1", pk="{a}", sk="X")
            two = Key(index="GSI1", pk="Y#{a}", sk="Y")


def test_sort_key_template_on_table_without_sort_key() -> None:
    with pytest.raises(DeclarationError, match=r"has no sort key attribute"):

        class Bad(Model, table=Table("nosk", sk=None), entity="bad"):
            a: str
            primary = Key(pk="A#{a}", sk="A")


def test_unknown_class_keyword() -> None:
    with pytest.raises(DeclarationError, match=r"unknown class keywords \['tabel'\]"):

        class Bad(Model, tabel=_table()):
            a: str


def test_entity_without_table() -> None:
    with pytest.raises(DeclarationError, match=r"entity= needs table="):

        class Bad(Model, entity="x"):
            a: str


def test_number_key_attribute_needs_a_single_field_template() -> None:
    table = Table("numeric", attribute_types={"SK": "N"})
    with pytest.raises(DeclarationError, match=r"attribute 'SK' is of type N; its template must"):

        class Bad(Model, table=table, entity="bad"):
            a: str
            n: int
            primary = Key(pk="A#{a}", sk="N#{n}")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gsis": [GSI("DUP", pk="A"), GSI("DUP", pk="B")]}, "index names used twice"),
        ({"sk": None, "lsis": [LSI("LSI1", sk="X")]}, "LSIs need a table with a sort key"),
        ({"lsis": [LSI("LSI1", sk="SK")]}, "must have a sort key other than the table's"),
        ({"stream": "EVERYTHING"}, "stream must be one of"),
        ({"billing_mode": "PROVISIONED"}, "PROVISIONED billing needs read_capacity"),
        ({"entity_attribute": "PK"}, "entity_attribute cannot be a key attribute"),
    ],
)
def test_bad_tables(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DeclarationError, match=message):
        Table("bad", **kwargs)  # type: ignore[arg-type]


def test_bad_index_projection() -> None:
    with pytest.raises(DeclarationError, match=r"projection must be 'ALL', 'KEYS_ONLY' or a list"):
        GSI("GSI1", pk="A", projection="SOME")


def test_key_fields_named_like_call_options_are_refused() -> None:
    # issue 13: get(Model, **key) took a key field named "consistent" for the option
    from dyntable import Key, Model, Table

    table = Table("opts")
    for name in ("consistent", "project", "condition", "return_old", "sk_prefix"):
        with pytest.raises(DeclarationError, match=rf"key field\(s\) \['{name}'\] are named "
                                                   r"like options"):
            type(f"M_{name}", (Model,), {
                "__annotations__": {name: str}, "primary": Key(pk="P#{" + name + "}", sk="S"),
                "__module__": __name__,
            }, table=table, entity=f"e_{name}")


def test_positional_targets_never_clash_with_key_fields() -> None:
    # key fields named like the calls' positional parameters are fine: those are
    # positional-only
    from dyntable import Key, Model, Table
    from dyntable.transport.mock import MockTransport

    table = Table("posonly")

    class Thing(Model, table=table, entity="thing"):
        target: str
        key: str
        primary = Key(pk="T#{target}", sk="K#{key}")

    sent: list[dict[str, object]] = []

    def record(operation: str, params: dict[str, object]) -> dict[str, object]:
        sent.append(params)
        return {}

    db = table.connect(transport=MockTransport(record))
    assert db.get(Thing, target="a", key="b") is None
    assert sent[0]["Key"] == {"PK": {"S": "T#a"}, "SK": {"S": "K#b"}}
    db.query(Thing.primary, target="a", key="b").all()
