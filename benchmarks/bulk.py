"""Bulk write throughput: N items through each contender's batch-write path (items/s).

* raw boto3: hand-encoded BatchWriteItem chunks of 25, sent one after another, retrying
  ``UnprocessedItems`` (the sequential baseline);
* stdlib reference: the same loop over :class:`~benchmarks.stdlib_client.StdlibClient`
  (``http.client`` + hand-written SigV4): the floor of a sequential writer in Python;
* boto3 resource: ``Table.batch_writer()``;
* PynamoDB: ``Model.batch_write()``;
* pydynox: ``SyncBatchWriter`` (collects everything, sends on exit);
* dyntable: ``db.batch_writer()`` (or :class:`dyntable.batch_writer.BatchWriter` while
  the client method does not exist), with ``concurrency=1`` and ``4``.

Objects are built before timing; encoding is inside it. Every contender rewrites the same
keys of its own partition in each repetition.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable
from typing import Any

from benchmarks.common import RAW, Section, interleave_batches
from benchmarks.contenders import DYN_BOTO3, DYN_HTTP, PYDYNOX, PYNAMODB, RESOURCE, STDLIB, Env
from benchmarks.items import (
    make_rows,
    raw_encode,
    resource_item,
    to_dyntable,
    to_pydynox,
    to_pynamodb,
)

__all__ = ["batch_writer", "run_bulk"]

Case = Callable[[], Any]


def batch_writer(db: Any, concurrency: int) -> Any:
    """dyntable's batch writer for ``db``."""
    return db.batch_writer(concurrency=concurrency)


def _raw_bulk(client: Any, table: str, rows: list[Any]) -> None:
    for start in range(0, len(rows), 25):
        chunk = [{"PutRequest": {"Item": raw_encode(r)}} for r in rows[start:start + 25]]
        pending: dict[str, Any] = {table: chunk}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _dyn_bulk(db: Any, objs: list[Any], concurrency: int) -> None:
    with batch_writer(db, concurrency) as bw:
        for obj in objs:
            bw.put(obj)


def bulk_cases(env: Env, size: int) -> dict[str, Case]:
    """Contender -> write ``size`` items of its own partition."""
    c = env.clients
    table = env.table

    def rows(name: str) -> list[Any]:
        return make_rows(size, tenant="bulk-" + "".join(ch for ch in name if ch.isalnum()))

    raw_rows, res_rows, std_rows = rows(RAW), rows(RESOURCE), rows(STDLIB)
    cases: dict[str, Case] = {
        RAW: lambda: _raw_bulk(c[RAW], table, raw_rows),
        STDLIB: lambda: c[STDLIB].batch_write(table, [raw_encode(r) for r in std_rows]),
    }

    def resource_bulk() -> None:
        with c[RESOURCE].batch_writer() as bw:
            for r in res_rows:
                bw.put_item(Item=resource_item(r))

    cases[RESOURCE] = resource_bulk
    pobjs = [to_pynamodb(c[PYNAMODB], r) for r in rows(PYNAMODB)]

    def pynamodb_bulk() -> None:
        with c[PYNAMODB].batch_write() as bw:
            for p in pobjs:
                bw.save(p)

    cases[PYNAMODB] = pynamodb_bulk
    if env.has(PYDYNOX):
        cases[PYDYNOX] = _pydynox_case(env, rows(PYDYNOX))
    for name in (DYN_BOTO3, DYN_HTTP):
        if not env.has(name):
            continue
        for conc in (1, 4):
            objs = [to_dyntable(r) for r in rows(f"{name}{conc}")]
            label = f"{name}, concurrency={conc}"
            cases[label] = functools.partial(_dyn_bulk, c[name], objs, conc)
    return cases


def _pydynox_case(env: Env, rows: list[Any]) -> Case:
    from pydynox import SyncBatchWriter

    model, client = env.clients[PYDYNOX], env.clients[PYDYNOX + " client"]
    objs = [to_pydynox(model, r) for r in rows]

    def run() -> None:
        with SyncBatchWriter(client, env.table) as bw:
            for o in objs:
                bw.put(o.to_dict())

    return run


def _count(env: Env, prefix: str) -> int:
    """Items whose partition starts with ``prefix`` (a consistency check after the runs)."""
    client, total = env.raw, 0
    params: dict[str, Any] = {
        "TableName": env.table,
        "Select": "COUNT",
        "FilterExpression": "begins_with(PK, :p)",
        "ExpressionAttributeValues": {":p": {"S": prefix}},
    }
    while True:
        page = client.scan(**params)
        total += int(page["Count"])
        if not page.get("LastEvaluatedKey"):
            return total
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def run_bulk(env: Env, *, size: int, reps: int) -> Section:
    """Throughput in items/s (median over repetitions; higher is better)."""
    cases = bulk_cases(env, size)
    samples = interleave_batches(cases, reps=reps, per_batch=size, warmup=0)
    section = Section("bulk", f"Bulk write of {size:,} items", "items/s", higher_is_better=True)
    raw_time = statistics.median(samples[RAW])
    for name, per_item in samples.items():
        section.add_samples(name, [1.0 / s for s in per_item], 1.0, tail=False)
        section.stats[-1].note = f"{statistics.median(per_item) / raw_time:.2f}x the time"
    written = _count(env, "TENANT#bulk-")
    expected = size * len(cases)
    if written != expected:
        raise RuntimeError(f"bulk write: {written} items stored, expected {expected}")
    section.notes.append(
        f"{reps} repetition(s) per contender, interleaved; each repetition rewrites the same "
        f"{size:,} keys. Checked afterwards: {written:,} items stored. The note gives the "
        "time taken as a ratio to raw boto3's (the inverse of the throughput ratio)."
    )
    return section
