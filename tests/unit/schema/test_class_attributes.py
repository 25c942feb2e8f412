"""An unknown attribute of a model class names the model's keys and fields."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, PrivateAttr

from dyntable import Key, Model, Table
from tests.models import Customer

table = Table("class-attrs", pk="PK", sk="SK")


class Cached(Model, table=table, entity="cached"):
    id: str
    _scratch: int = PrivateAttr(default=5)

    primary = Key(pk="C#{id}", sk="C")


class Shared(Model):
    """An abstract base: no table, no keys."""

    name: str = ""


def test_a_typo_in_a_key_name_lists_the_keys_and_suggests_one() -> None:
    with pytest.raises(AttributeError) as caught:
        Customer.by_emial  # type: ignore[attr-defined]  # noqa: B018 - the access is the test
    text = str(caught.value)
    assert text.startswith("Customer has no attribute 'by_emial' (did you mean 'by_email'?)")
    assert "its keys: primary, by_email" in text
    assert "its fields: username, email, name" in text
    assert caught.value.name == "by_emial"


def test_a_field_read_off_the_class_points_to_f() -> None:
    with pytest.raises(AttributeError) as caught:
        Customer.order_count  # noqa: B018 - the access is the test
    text = str(caught.value)
    assert "Customer.order_count is a model field" in text
    assert "F.order_count" in text
    assert "did you mean 'order_count'" not in text


def test_attribute_errors_stay_attribute_errors() -> None:
    assert not hasattr(Customer, "nothing_like_it")
    assert getattr(Customer, "nothing_like_it", "default") == "default"
    assert not hasattr(Customer, "__not_a_dunder_either__")
    with pytest.raises(AttributeError, match=r"^nope$"):
        Shared.nope  # type: ignore[attr-defined]  # noqa: B018 - no keys to list
    assert Customer.by_email.name == "by_email"


def test_pydantic_private_attributes_still_work() -> None:
    assert Cached._scratch.get_default() == 5  # type: ignore[attr-defined]
    obj = Cached(id="a")
    assert obj._scratch == 5
    obj._scratch = 7
    assert obj._scratch == 7
    with pytest.raises(AttributeError):
        obj.nope  # type: ignore[attr-defined]  # noqa: B018


def test_models_keep_pydantic_s_metaclass() -> None:
    assert issubclass(type(Customer), type(BaseModel))
    values: dict[str, Any] = {"username": "u", "email": "e", "name": "n"}
    assert Customer.model_validate(values).username == "u"
