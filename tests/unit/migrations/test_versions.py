"""Model schema versions: the upgrade registry and what the codec hook will do."""

from __future__ import annotations

from typing import Any

import pytest

from dyntable import Key, Model, Table
from dyntable._internal.codec.items import codec_for
from dyntable._internal.schema.versions import stored_version, upgrade, upgrade_values
from dyntable.errors import DecodeError
from dyntable.migrations import versions

people = Table("people-versions")


class Person(Model, table=people, entity="person", schema_version=3):
    username: str
    name: str
    nickname: str = ""

    primary = Key(pk="PERSON#{username}", sk="PERSON")

    @upgrade(from_version=1)
    def _rename(cls, values: dict[str, Any]) -> dict[str, Any]:
        values["name"] = values.pop("fullname")
        return values

    @upgrade(from_version=2)
    def _nick(cls, values: dict[str, Any]) -> dict[str, Any]:
        values["nickname"] = values["name"].split()[0].lower()
        return values


class Pet(Model, table=people, entity="pet", schema_version=2):
    name: str
    primary = Key(pk="PET#{name}", sk="PET")


V1 = {"PK": {"S": "PERSON#ada"}, "SK": {"S": "PERSON"}, "_entity": {"S": "person"},
      "username": {"S": "ada"}, "fullname": {"S": "Ada Lovelace"}}


def test_upgrade_chain_runs_from_the_stored_version() -> None:
    spec = Person.__dyntable__
    out = upgrade_values(spec, {"username": "ada", "fullname": "Ada Lovelace"}, 1)
    assert out == {"username": "ada", "name": "Ada Lovelace", "nickname": "ada"}
    assert upgrade_values(spec, {"name": "Bo Z"}, 2) == {"name": "Bo Z", "nickname": "bo"}
    same = {"name": "x"}
    assert upgrade_values(spec, same, 3) is same


def test_old_items_decode_into_the_current_model() -> None:
    assert stored_version(V1) == 1
    codec = codec_for(Person)
    person = codec.decode(dict(V1))
    assert (person.name, person.nickname) == ("Ada Lovelace", "ada")
    item = codec.encode(person)
    assert item["_v"] == {"N": "3"}
    assert codec.decode(item) == person


def test_missing_or_failing_upgrade_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="no @upgrade\\(from_version=1\\)"):
        upgrade_values(Pet.__dyntable__, {"name": "rex"}, 1)
    with pytest.raises(DecodeError, match="upgrade from schema version 1 failed: KeyError"):
        upgrade_values(Person.__dyntable__, {"username": "ada"}, 1)


def test_eager_upgrade_migration() -> None:
    mig = versions.upgrade_migration(Person, "0001_people_v3")
    values = {k: next(iter(v.values())) for k, v in V1.items()}
    out = mig.up(dict(values))
    assert out is not None and out["_v"] == 3 and out["name"] == "Ada Lovelace"
    assert mig.up({**values, "_v": 3}) is None
    assert mig.entities == ("person",)
    with pytest.raises(Exception, match="no @upgrade"):
        versions.upgrade_migration(Pet, "0002_pets")
