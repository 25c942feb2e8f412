"""Single-call latency against DynamoDB Local: PutItem, GetItem, and a 1,000-item query.

Every contender writes and reads its own keys (its own partition for the query, seeded in
its own storage format) and returns typed objects: :class:`~benchmarks.items.Row` for the
hand-written and resource-layer code, model instances for the libraries.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from benchmarks.common import RAW, Section, interleave_calls
from benchmarks.contenders import (
    DYN_BOTO3,
    DYN_CACHE,
    DYN_HTTP,
    PYDYNOX,
    PYNAMODB,
    RESOURCE,
    STDLIB,
    Env,
    seed,
)
from benchmarks.items import (
    Invoice,
    Row,
    make_rows,
    raw_decode,
    raw_encode,
    raw_key,
    resource_item,
    resource_row,
    to_dyntable,
    to_pydynox,
    to_pynamodb,
)

__all__ = ["RAW_GUARDED", "run_latency"]

Case = Callable[[], Any]
DYNTABLES = (DYN_BOTO3, DYN_HTTP, DYN_CACHE)
#: raw boto3 sending dyntable's own PutItem (with the entity guard condition)
RAW_GUARDED = "raw boto3, entity guard"


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())


def _one(name: str, prefix: str) -> Row:
    row = make_rows(1, tenant=f"{prefix}-{_slug(name)}")[0]
    row.invoice_id = "00000001"
    return row


def put_cases(env: Env) -> dict[str, Case]:
    """Contender -> one PutItem of its own pre-built object (encoding included)."""
    c = env.clients
    table = env.table
    raw, res = _one(RAW, "put"), _one(RESOURCE, "put")
    cases: dict[str, Case] = {
        RAW: lambda: c[RAW].put_item(TableName=table, Item=raw_encode(raw)),
        RESOURCE: lambda: c[RESOURCE].put_item(Item=resource_item(res)),
    }
    guarded, guard = _one(RAW_GUARDED, "put"), _guard(table)
    cases[RAW_GUARDED] = lambda: c[RAW].put_item(TableName=table, Item=raw_encode(guarded),
                                                 **guard)
    std = _one(STDLIB, "put")
    cases[STDLIB] = lambda: c[STDLIB].call("PutItem", {"TableName": table,
                                                       "Item": raw_encode(std)})
    pobj = to_pynamodb(c[PYNAMODB], _one(PYNAMODB, "put"))
    cases[PYNAMODB] = pobj.save
    if env.has(PYDYNOX):
        xobj = to_pydynox(c[PYDYNOX], _one(PYDYNOX, "put"))
        cases[PYDYNOX] = lambda: xobj.sync_save(full_replace=True)
    for name in DYNTABLES:
        if env.has(name):
            obj = to_dyntable(_one(name, "put"))
            cases[name] = _bind(c[name].put, obj)
    return cases


def get_cases(env: Env) -> dict[str, Case]:
    """Contender -> one GetItem of an item it wrote, returned as a typed object."""
    c = env.clients
    table = env.table
    cases: dict[str, Case] = {}
    row = _one(RAW, "get")
    c[RAW].put_item(TableName=table, Item=raw_encode(row))
    key = raw_key(row.tenant, row.invoice_id)
    cases[RAW] = lambda: raw_decode(c[RAW].get_item(TableName=table, Key=key)["Item"])
    res = _one(RESOURCE, "get")
    c[RESOURCE].put_item(Item=resource_item(res))
    rkey = {"PK": "TENANT#" + res.tenant, "SK": "INVOICE#" + res.invoice_id}
    cases[RESOURCE] = lambda: resource_row(c[RESOURCE].get_item(Key=rkey)["Item"])
    srow = _one(STDLIB, "get")
    c[RAW].put_item(TableName=table, Item=raw_encode(srow))
    skey = {"TableName": table, "Key": raw_key(srow.tenant, srow.invoice_id)}
    cases[STDLIB] = lambda: raw_decode(c[STDLIB].call("GetItem", skey)["Item"])
    prow = _one(PYNAMODB, "get")
    to_pynamodb(c[PYNAMODB], prow).save()
    pk, sk = "TENANT#" + prow.tenant, "INVOICE#" + prow.invoice_id
    cases[PYNAMODB] = lambda: c[PYNAMODB].get(pk, sk)
    if env.has(PYDYNOX):
        xrow = _one(PYDYNOX, "get")
        to_pydynox(c[PYDYNOX], xrow).sync_save(full_replace=True)
        xpk, xsk = "TENANT#" + xrow.tenant, "INVOICE#" + xrow.invoice_id
        cases[PYDYNOX] = lambda: c[PYDYNOX].sync_get(PK=xpk, SK=xsk)
    for name in DYNTABLES:
        if env.has(name):
            drow = _one(name, "get")
            c[name].put(to_dyntable(drow))
            cases[name] = _bind(c[name].get, Invoice, tenant=drow.tenant,
                                invoice_id=drow.invoice_id)
    _check_found(cases)
    return cases


def _check_found(cases: dict[str, Case]) -> None:
    for name, case in cases.items():
        if case() is None:
            raise RuntimeError(f"{name}: the benchmark item was not found")


def query_cases(env: Env, size: int) -> dict[str, Case]:
    """Contender -> read its own ``size``-item partition as a list of typed objects."""
    c = env.clients
    table = env.table
    rows = make_rows(size, tenant="q-raw")
    seed(c[RAW], table, [raw_encode(r) for r in rows])
    cases: dict[str, Case] = {
        RAW: lambda: _raw_query(c[RAW], table, "TENANT#q-raw"),
        RESOURCE: lambda: _resource_query(c[RESOURCE], "TENANT#q-raw"),
    }
    seed(c[RAW], table, [raw_encode(r) for r in make_rows(size, tenant="q-stdlib")])
    cases[STDLIB] = lambda: _stdlib_query(c[STDLIB], table, "TENANT#q-stdlib")
    prows = make_rows(size, tenant="q-pynamodb")
    seed(c[RAW], table, [to_pynamodb(c[PYNAMODB], r).serialize() for r in prows])
    cases[PYNAMODB] = lambda: list(c[PYNAMODB].query("TENANT#q-pynamodb"))
    if env.has(PYDYNOX):
        from pydynox import SyncBatchWriter

        with SyncBatchWriter(c[PYDYNOX + " client"], table) as bw:
            for r in make_rows(size, tenant="q-pydynox"):
                bw.put(to_pydynox(c[PYDYNOX], r).to_dict())
        cases[PYDYNOX] = lambda: list(c[PYDYNOX].sync_query(partition_key="TENANT#q-pydynox"))
    dyn = [to_dyntable(r) for r in make_rows(size, tenant="q-dyntable")]
    codec = _codec()
    seed(c[RAW], table, [codec.encode(o) for o in dyn])
    for name in DYNTABLES:
        if env.has(name):
            cases[name] = _bind(_dyn_query, c[name])
    for name, case in cases.items():
        got = len(case())
        if got != size:
            raise RuntimeError(f"{name}: query returned {got} items, expected {size}")
    return cases


def _bind(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Case:
    """``func`` with its arguments fixed (``functools.partial``, typed as a case)."""
    return functools.partial(func, *args, **kwargs)


def _dyn_query(db: Any) -> list[Invoice]:
    result: list[Invoice] = db.query(Invoice.primary, tenant="q-dyntable").all()
    return result


def _codec() -> Any:
    from dyntable._internal.codec.items import codec_for

    return codec_for(Invoice)


def _raw_query(client: Any, table: str, pk: str) -> list[Row]:
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
    }
    out: list[Row] = []
    while True:
        page = client.query(**params)
        out.extend(raw_decode(i) for i in page["Items"])
        last = page.get("LastEvaluatedKey")
        if not last:
            return out
        params["ExclusiveStartKey"] = last


def _stdlib_query(client: Any, table: str, pk: str) -> list[Row]:
    params = {
        "TableName": table,
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
    }
    return [raw_decode(i) for page in client.pages("Query", params) for i in page["Items"]]


def _guard(table: str) -> dict[str, Any]:
    """What dyntable's PutItem of the benchmark item sends besides the item: the entity
    guard (a condition that the stored item, if any, is an invoice), read from the request
    dyntable builds, so the raw contender sends exactly the same."""
    from benchmarks.items import bench_table
    from dyntable.transport.mock import MockTransport

    mock = MockTransport(lambda _op, _params: {})
    db = bench_table.connect(transport=mock, table_name=table)
    db.put(to_dyntable(_one(RAW_GUARDED, "put")))
    params = dict(mock.sent[-1].params)
    return {k: v for k, v in params.items() if k not in ("TableName", "Item")}


def _resource_query(table: Any, pk: str) -> list[Row]:
    from boto3.dynamodb.conditions import Key

    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("PK").eq(pk)}
    out: list[Row] = []
    while True:
        page = table.query(**kwargs)
        out.extend(resource_row(i) for i in page["Items"])
        last = page.get("LastEvaluatedKey")
        if not last:
            return out
        kwargs["ExclusiveStartKey"] = last


def run_latency(env: Env, *, reps: int, calls: int, query_calls: int,
                query_size: int) -> list[Section]:
    """Put, get and query sections (milliseconds, median and p95 over all calls)."""
    sections = []
    for key, title, cases, n in (
        ("put", "PutItem latency", put_cases(env), calls),
        ("get", "GetItem latency (typed object)", get_cases(env), calls),
        ("query", f"Query of a {query_size:,}-item partition (typed objects)",
         query_cases(env, query_size), query_calls),
    ):
        samples = interleave_calls(cases, reps=reps, calls=n, warmup=3)
        section = Section(key, title, "ms")
        for name, values in samples.items():
            section.add_samples(name, values, 1e3, tail=True)
        section.notes.append(f"{reps} repetitions x {n} calls per contender, interleaved "
                             "call by call.")
        sections.append(section)
    return sections
