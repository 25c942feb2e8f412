"""The asyncio section: dyntable's AsyncClient against aiodynamo, in one event loop.

Four rows, as in the sync sections: PutItem, GetItem (typed object), a 1,000-item query
(typed objects) and a bulk write of 20,000 items with 4 concurrent writers. Contenders:

* raw boto3 (sync; the page's baseline, so ratios compare with the other sections) and
  dyntable's sync HTTP client, both called from inside the loop (nothing else runs
  meanwhile);
* dyntable async: ``await bench_table.connect_async(...)`` (the default
  AsyncHttpTransport), :class:`~benchmarks.items.Invoice` models; bulk:
  ``db.batch_writer(concurrency=4)``;
* aiodynamo: its high-level ``Client`` over httpx with ``numeric_type=Decimal``. It takes
  and returns plain Python dicts, so rows are converted as the boto3 resource contender
  does (:func:`~benchmarks.items.resource_item` / :func:`~benchmarks.items.resource_row`);
  bulk: ``Client.batch_write`` with chunks of 25 from 4 tasks, each over a quarter of the
  items, re-sending unprocessed items.

Everything runs in one ``asyncio.run``: contenders round-robin inside each repetition, as
in :mod:`benchmarks.common`. Without aiodynamo (``pip install aiodynamo httpx``, the
``bench`` extra) its rows are skipped with the reason recorded.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.bulk import _count, _dyn_bulk, _raw_bulk
from benchmarks.common import RAW, Section, ainterleave_batches, ainterleave_calls
from benchmarks.contenders import AIODYNAMO, DYN_ASYNC, DYN_HTTP, REGION, Env, seed
from benchmarks.items import (
    Invoice,
    Row,
    bench_table,
    make_rows,
    raw_decode,
    raw_encode,
    raw_key,
    resource_item,
    resource_row,
    to_dyntable,
)
from benchmarks.latency import _codec, _one, _raw_query, _slug

__all__ = ["run_async"]

AsyncCase = Callable[[], Awaitable[Any]]
CONCURRENCY = 4
NOTES = {
    RAW: "sync",
    DYN_HTTP: "sync",
    AIODYNAMO: "asyncio",
    DYN_ASYNC: "asyncio",
}
BULK_NOTES = {
    RAW: "sync, chunks of 25 one after another",
    DYN_HTTP: f"sync, batch_writer(concurrency={CONCURRENCY}) (threads)",
    AIODYNAMO: f"batch_write from {CONCURRENCY} tasks over a split of the items",
    DYN_ASYNC: f"batch_writer(concurrency={CONCURRENCY}) (tasks)",
}


@dataclass
class Aiodynamo:
    """aiodynamo's high-level client and the few names of its API the cases use."""

    client: Any
    hash_key: Any
    write_request: Any
    py2dy: Callable[[dict[str, Any]], dict[str, Any]]
    close: Callable[[], Awaitable[None]]


def load_aiodynamo(endpoint: str) -> Aiodynamo | str:
    """aiodynamo's client on ``endpoint`` (call in the loop), or why it cannot be made."""
    # Imported by name: the bench extra is optional, and mypy need not see it.
    try:
        from decimal import Decimal

        httpx = importlib.import_module("httpx")
        client_module = importlib.import_module("aiodynamo.client")
        credentials = importlib.import_module("aiodynamo.credentials")
        expressions = importlib.import_module("aiodynamo.expressions")
        models = importlib.import_module("aiodynamo.models")
        utils = importlib.import_module("aiodynamo.utils")
        adapter = importlib.import_module("aiodynamo.http.httpx")
        yarl = importlib.import_module("yarl")
    except ImportError as exc:
        return f"not installed ({exc})"
    http = httpx.AsyncClient()
    key = credentials.Key(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    client = client_module.Client(adapter.HTTPX(http), credentials.StaticCredentials(key),
                                  REGION, yarl.URL(endpoint), numeric_type=Decimal)
    return Aiodynamo(client, expressions.HashKey, models.BatchWriteRequest, utils.py2dy,
                     http.aclose)


def _sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> AsyncCase:
    """A sync call as an async case (it blocks the loop, where nothing else runs)."""
    async def case() -> Any:
        return func(*args, **kwargs)

    return case


@dataclass
class Contenders:
    """The clients of this section: sync ones from :class:`Env`, async ones made here."""

    env: Env
    db: Any
    dynamo: Aiodynamo | None

    @property
    def table(self) -> str:
        """The benchmark table's name."""
        return self.env.table

    def sync(self, name: str) -> Any:
        """A sync contender's client."""
        return self.env.clients[name]


def put_cases(c: Contenders) -> dict[str, AsyncCase]:
    """Contender -> one PutItem of its own pre-built object (encoding included)."""
    raw = _one(RAW, "aput")
    cases: dict[str, AsyncCase] = {
        RAW: _sync(lambda: c.sync(RAW).put_item(TableName=c.table, Item=raw_encode(raw))),
    }
    if c.env.has(DYN_HTTP):
        cases[DYN_HTTP] = _sync(c.sync(DYN_HTTP).put, to_dyntable(_one(DYN_HTTP, "aput")))
    if c.dynamo is not None:
        row, client = _one(AIODYNAMO, "aput"), c.dynamo.client

        async def aiodynamo_put() -> Any:
            return await client.put_item(c.table, resource_item(row))

        cases[AIODYNAMO] = aiodynamo_put
    cases[DYN_ASYNC] = functools.partial(c.db.put, to_dyntable(_one(DYN_ASYNC, "aput")))
    return cases


async def get_cases(c: Contenders) -> dict[str, AsyncCase]:
    """Contender -> one GetItem of an item it wrote, returned as a typed object."""
    raw = _one(RAW, "aget")
    c.sync(RAW).put_item(TableName=c.table, Item=raw_encode(raw))
    key = raw_key(raw.tenant, raw.invoice_id)
    cases: dict[str, AsyncCase] = {
        RAW: _sync(lambda: raw_decode(c.sync(RAW).get_item(TableName=c.table, Key=key)["Item"])),
    }
    if c.env.has(DYN_HTTP):
        row = _one(DYN_HTTP, "aget")
        c.sync(DYN_HTTP).put(to_dyntable(row))
        cases[DYN_HTTP] = _sync(c.sync(DYN_HTTP).get, Invoice, tenant=row.tenant,
                                invoice_id=row.invoice_id)
    if c.dynamo is not None:
        cases[AIODYNAMO] = await _aiodynamo_get(c.dynamo.client, c.table)
    row = _one(DYN_ASYNC, "aget")
    await c.db.put(to_dyntable(row))
    cases[DYN_ASYNC] = functools.partial(c.db.get, Invoice, tenant=row.tenant,
                                         invoice_id=row.invoice_id)
    for name, case in cases.items():
        if await case() is None:
            raise RuntimeError(f"{name}: the benchmark item was not found")
    return cases


async def _aiodynamo_get(client: Any, table: str) -> AsyncCase:
    row = _one(AIODYNAMO, "aget")
    await client.put_item(table, resource_item(row))
    key = {"PK": "TENANT#" + row.tenant, "SK": "INVOICE#" + row.invoice_id}

    async def get() -> Row:
        return resource_row(await client.get_item(table, key))

    return get


async def query_cases(c: Contenders, size: int) -> dict[str, AsyncCase]:
    """Contender -> read its own ``size``-item partition as a list of typed objects."""
    raw, table = c.sync(RAW), c.table

    def tenant(name: str) -> str:
        return "aq-" + _slug(name)

    seed(raw, table, [raw_encode(r) for r in make_rows(size, tenant(RAW))])
    cases: dict[str, AsyncCase] = {RAW: _sync(_raw_query, raw, table, "TENANT#" + tenant(RAW))}
    codec = _codec()
    for name in (DYN_HTTP, DYN_ASYNC):
        seed(raw, table, [codec.encode(to_dyntable(r)) for r in make_rows(size, tenant(name))])
    if c.env.has(DYN_HTTP):
        query = c.sync(DYN_HTTP).query(Invoice.primary, tenant=tenant(DYN_HTTP))
        cases[DYN_HTTP] = _sync(query.all)
    if c.dynamo is not None:
        dynamo = c.dynamo
        seed(raw, table, [dynamo.py2dy(resource_item(r))
                          for r in make_rows(size, tenant(AIODYNAMO))])
        condition = dynamo.hash_key("PK", "TENANT#" + tenant(AIODYNAMO))

        async def aiodynamo_query() -> list[Row]:
            return [resource_row(i) async for i in dynamo.client.query(table, condition)]

        cases[AIODYNAMO] = aiodynamo_query
    db, dyn_tenant = c.db, tenant(DYN_ASYNC)

    async def dyn_query() -> list[Invoice]:
        result: list[Invoice] = await db.query(Invoice.primary, tenant=dyn_tenant).all()
        return result

    cases[DYN_ASYNC] = dyn_query
    for name, case in cases.items():
        got = len(await case())
        if got != size:
            raise RuntimeError(f"{name}: query returned {got} items, expected {size}")
    return cases


async def _aiodynamo_bulk(dynamo: Aiodynamo, table: str, rows: list[Row]) -> None:
    async def writer(part: list[Row]) -> None:
        for start in range(0, len(part), 25):
            pending = [resource_item(r) for r in part[start:start + 25]]
            while pending:
                result = await dynamo.client.batch_write(
                    {table: dynamo.write_request(items_to_put=pending)})
                pending = result[table].unput_items if table in result else []

    step = -(-len(rows) // CONCURRENCY)
    await asyncio.gather(*(writer(rows[i:i + step]) for i in range(0, len(rows), step)))


async def _dyn_async_bulk(db: Any, objs: list[Invoice]) -> None:
    async with db.batch_writer(concurrency=CONCURRENCY) as bw:
        for obj in objs:
            await bw.put(obj)


def bulk_cases(c: Contenders, size: int) -> dict[str, AsyncCase]:
    """Contender -> write ``size`` items of its own partition."""
    def rows(name: str) -> list[Row]:
        return make_rows(size, tenant="abulk-" + _slug(name))

    cases: dict[str, AsyncCase] = {RAW: _sync(_raw_bulk, c.sync(RAW), c.table, rows(RAW))}
    if c.env.has(DYN_HTTP):
        objs = [to_dyntable(r) for r in rows(DYN_HTTP)]
        cases[DYN_HTTP] = _sync(_dyn_bulk, c.sync(DYN_HTTP), objs, CONCURRENCY)
    if c.dynamo is not None:
        cases[AIODYNAMO] = functools.partial(_aiodynamo_bulk, c.dynamo, c.table,
                                             rows(AIODYNAMO))
    cases[DYN_ASYNC] = functools.partial(_dyn_async_bulk, c.db,
                                         [to_dyntable(r) for r in rows(DYN_ASYNC)])
    return cases


def _latency_section(key: str, title: str, samples: dict[str, list[float]], reps: int,
                     calls: int) -> Section:
    section = Section(key, title, "ms")
    for name, values in samples.items():
        section.add_samples(name, values, 1e3, tail=True)
        section.stats[-1].note = NOTES[name]
    section.notes.append(f"{reps} repetitions x {calls} calls per contender, interleaved "
                         "call by call inside one event loop.")
    return section


async def _measure(c: Contenders, *, reps: int, calls: int, query_calls: int,
                   query_size: int, bulk_size: int, bulk_reps: int) -> list[Section]:
    sections = []
    for key, title, cases, n in (
        ("async_put", "Async: PutItem latency", put_cases(c), calls),
        ("async_get", "Async: GetItem latency (typed object)", await get_cases(c), calls),
        ("async_query", f"Async: query of a {query_size:,}-item partition (typed objects)",
         await query_cases(c, query_size), query_calls),
    ):
        samples = await ainterleave_calls(cases, reps=reps, calls=n, warmup=3)
        sections.append(_latency_section(key, title, samples, reps, n))
    cases = bulk_cases(c, bulk_size)
    samples = await ainterleave_batches(cases, reps=bulk_reps, per_batch=bulk_size, warmup=0)
    bulk = Section("async_bulk", f"Async: bulk write of {bulk_size:,} items", "items/s",
                   higher_is_better=True)
    for name, per_item in samples.items():
        bulk.add_samples(name, [1.0 / s for s in per_item], 1.0, tail=False)
        bulk.stats[-1].note = BULK_NOTES[name]
    written = _count(c.env, "TENANT#abulk-")
    if written != bulk_size * len(cases):
        raise RuntimeError(f"async bulk write: {written} items stored, "
                           f"expected {bulk_size * len(cases)}")
    bulk.notes.append(
        f"{bulk_reps} repetition(s) per contender, interleaved inside one event loop; each "
        f"rewrites the same {bulk_size:,} keys. Checked afterwards: {written:,} items stored.")
    sections.append(bulk)
    return sections


async def _run(env: Env, **sizes: int) -> list[Section]:
    loaded = load_aiodynamo(env.endpoint)
    dynamo = loaded if isinstance(loaded, Aiodynamo) else None
    if isinstance(loaded, str):
        env.skipped[AIODYNAMO] = loaded
    db = await bench_table.connect_async(endpoint_url=env.endpoint, region=REGION,
                                         table_name=env.table)
    try:
        return await _measure(Contenders(env, db, dynamo), **sizes)
    finally:
        await db.close()
        if dynamo is not None:
            await dynamo.close()


def run_async(env: Env, *, reps: int, calls: int, query_calls: int, query_size: int,
              bulk_size: int, bulk_reps: int) -> list[Section]:
    """Put, get, query and bulk sections of the async contenders, in one event loop."""
    return asyncio.run(_run(env, reps=reps, calls=calls, query_calls=query_calls,
                            query_size=query_size, bulk_size=bulk_size, bulk_reps=bulk_reps))
