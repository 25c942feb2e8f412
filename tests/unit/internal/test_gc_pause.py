"""The cyclic GC pause around large answers: nests across threads, restores what it found,
and is used where large pages are parsed and decoded."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from dyntable._internal import gc_pause
from dyntable._internal.gc_pause import LARGE_BODY, gc_paused
from dyntable._internal.operations.reads import LARGE_PAGE
from dyntable._internal.transport import jsonproto
from dyntable.codec import codec_for
from tests.models import Product, shop


@pytest.fixture(autouse=True)
def collector_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    assert gc_pause._depth == 0
    (gc.enable if was else gc.disable)()


def test_the_collector_is_paused_inside_and_back_after() -> None:
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_back_even_when_the_block_raises() -> None:
    with pytest.raises(KeyError), gc_paused():
        raise KeyError("x")
    assert gc.isenabled()


def test_a_program_that_disabled_the_collector_keeps_it_disabled() -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_pauses_from_several_threads_nest() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with gc_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with gc_paused():
            second_in.set()
            first_out.wait(5)
            seen["after the first ended"] = gc.isenabled()
        seen["after both ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"after the first ended": False, "after both ended": True}


def _recording_loads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    seen: list[bool] = []
    real = json.loads

    def loads(body: Any) -> Any:
        seen.append(gc.isenabled())
        return real(body)

    monkeypatch.setattr(json, "loads", loads)
    return seen


def test_large_bodies_are_parsed_with_the_collector_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _recording_loads(monkeypatch)
    small = json.dumps({"Items": []}).encode()
    large = json.dumps({"Items": [{"k": {"S": "x" * 100}}] * (LARGE_BODY // 100)}).encode()
    assert len(large) >= LARGE_BODY
    jsonproto.decode_response("Query", small)
    parsed = jsonproto.decode_response("Query", large)
    assert seen == [True, False]
    assert len(parsed["Items"]) == LARGE_BODY // 100
    assert gc.isenabled()


def test_large_pages_are_decoded_with_the_collector_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codec = codec_for(Product)
    seen: list[bool] = []
    real = type(codec).decode

    def decode(self: Any, item: Any) -> Any:
        seen.append(gc.isenabled())
        return real(self, item)

    monkeypatch.setattr(type(codec), "decode", decode)
    db = shop.connect(transport=object())  # type: ignore[arg-type]  # compile only
    q = db.query(Product.primary, sku="p")
    items = [codec.encode(Product(sku="p", title="t", price=Decimal(1)))]
    q.decode(items * (LARGE_PAGE - 1))
    assert set(seen) == {True}
    seen.clear()
    q.decode(items * LARGE_PAGE)
    assert set(seen) == {False}
    assert gc.isenabled()
