"""Codec CPU per item, no network: object -> AttributeValues (encode) and back (decode).

* raw boto3: hand-written dict building / reading (:func:`benchmarks.items.raw_encode`);
* boto3 resource: boto3's TypeSerializer / TypeDeserializer on plain dicts;
* PynamoDB: ``Model.serialize()`` / ``Model.from_raw_data()``;
* dyntable: ``codec_for(Invoice).encode(obj)`` / ``.decode(item)`` (validation included:
  limits and item size on encode; on decode the type checks of
  :mod:`dyntable._internal.codec.construct`, which builds the objects directly because
  ``Invoice`` has no validators or constraints of its own; a model with them is validated
  by pydantic as before).

pydynox is left out here: its item conversion happens inside its Rust core as part of a
request, with no public per-item encode/decode of the same form to time on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.common import RAW, Section, interleave_batches
from benchmarks.items import (
    Invoice,
    make_rows,
    pynamodb_model,
    raw_decode,
    raw_encode,
    resource_decode,
    resource_encode,
    to_dyntable,
    to_pynamodb,
)

__all__ = ["codec_cases", "run_codec"]

Case = Callable[[], Any]
BATCH = 200


def codec_cases() -> dict[str, tuple[Case, Case]]:
    """Contender -> (encode a batch, decode a batch), each over :data:`BATCH` items."""
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    from dyntable._internal.codec.items import codec_for

    rows = make_rows(BATCH)
    raw_items = [raw_encode(r) for r in rows]

    serialize = TypeSerializer().serialize
    deserialize = TypeDeserializer().deserialize

    codec = codec_for(Invoice)
    objs = [to_dyntable(r) for r in rows]
    dyn_items = [codec.encode(o) for o in objs]

    pmodel = pynamodb_model("bench")
    pobjs = [to_pynamodb(pmodel, r) for r in rows]
    p_items = [p.serialize() for p in pobjs]
    from_raw = pmodel.from_raw_data

    cases: dict[str, tuple[Case, Case]] = {
        RAW: (
            lambda: [raw_encode(r) for r in rows],
            lambda: [raw_decode(i) for i in raw_items],
        ),
        "boto3 resource": (
            lambda: [resource_encode(r, serialize) for r in rows],
            lambda: [resource_decode(i, deserialize) for i in raw_items],
        ),
        "PynamoDB": (
            lambda: [p.serialize() for p in pobjs],
            lambda: [from_raw(i) for i in p_items],
        ),
        "dyntable": (
            lambda: [codec.encode(o) for o in objs],
            lambda: [codec.decode(i) for i in dyn_items],
        ),
    }
    _check(cases, objs)
    return cases


def _check(cases: dict[str, tuple[Case, Case]], objs: list[Invoice]) -> None:
    """Every contender must round-trip the same number of items (catches broken setups)."""
    for name, (enc, dec) in cases.items():
        if len(enc()) != BATCH or len(dec()) != BATCH:
            raise RuntimeError(f"codec case {name} does not process {BATCH} items")
    decoded = cases["dyntable"][1]()
    if decoded != objs:
        raise RuntimeError("dyntable's codec does not round-trip the benchmark items")


def run_codec(reps: int) -> list[Section]:
    """Encode, decode and their sum, in microseconds per item."""
    cases = codec_cases()
    flat: dict[str, Case] = {}
    for name, (enc, dec) in cases.items():
        flat[f"{name}|encode"] = enc
        flat[f"{name}|decode"] = dec
    samples = interleave_batches(flat, reps=reps, per_batch=BATCH, warmup=3)
    enc_s = Section("codec_encode", "Codec: encode one item", "µs")
    dec_s = Section("codec_decode", "Codec: decode one item", "µs")
    both = Section("codec", "Codec: encode + decode one item (15 attributes)", "µs")
    for name in cases:
        enc_t, dec_t = samples[f"{name}|encode"], samples[f"{name}|decode"]
        enc_s.add_samples(name, enc_t, 1e6, tail=False)
        dec_s.add_samples(name, dec_t, 1e6, tail=False)
        both.add_samples(name, [a + b for a, b in zip(enc_t, dec_t, strict=True)], 1e6,
                         tail=False)
    both.notes.append(
        f"{reps} repetitions of {BATCH} distinct items per contender, interleaved; "
        "medians of per-item times. PynamoDB stores `total` as a float (it has no "
        "Decimal attribute)."
    )
    return [both, enc_s, dec_s]
