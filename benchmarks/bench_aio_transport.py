"""AsyncHttpTransport against the sync HttpTransport and aiodynamo, interleaved, in one run.

Usage (DynamoDB Local on port 8765)::

    python -m benchmarks.bench_aio_transport --endpoint http://127.0.0.1:8765 --n 2000

Times raw ``PutItem``, ``GetItem`` and a 1,000-item ``Query`` (all pages) one call at a
time, in one event loop: each round calls every contender once, in an order that rotates
from round to round, so drift of the machine hits all alike. The sync transport is called
from inside the loop (nothing else runs meanwhile). aiodynamo (``pip install aiodynamo
httpx``, the ``bench`` extra) is driven through its raw ``Client.send_request`` over its
httpx adapter; without it its column is skipped, with a note. ``--concurrency K`` adds a
row of K tasks doing GetItem at once (calls per second).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.common import p95

Call = Callable[[], Awaitable[Any]]
ASYNC = "async-http"
SYNC = "sync-http"
AIODYNAMO = "aiodynamo"


def _item(pk: str, sk: str) -> dict[str, Any]:
    # Binary as base64 text: aiodynamo's raw client sends the payload as given.
    return {
        "PK": {"S": pk},
        "SK": {"S": sk},
        "name": {"S": "Ada Lovelace"},
        "email": {"S": "ada@example.com"},
        "total": {"N": "1234.50"},
        "tags": {"SS": ["a", "b"]},
        "blob": {"B": base64.b64encode(b"\x00\x01\x02payload").decode()},
    }


def _aiodynamo(endpoint: str, region: str) -> tuple[Any, Callable[[], Awaitable[None]]] | None:
    """aiodynamo's client and its closer, or ``None`` when it is not installed."""
    # Imported by name: the bench extra is optional, and mypy need not see it.
    try:
        httpx = importlib.import_module("httpx")
        client_module = importlib.import_module("aiodynamo.client")
        credentials = importlib.import_module("aiodynamo.credentials")
        adapter = importlib.import_module("aiodynamo.http.httpx")
        yarl = importlib.import_module("yarl")
    except ImportError:
        return None
    http = httpx.AsyncClient()
    key = credentials.Key(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    client = client_module.Client(adapter.HTTPX(http), credentials.StaticCredentials(key),
                                  region, yarl.URL(endpoint))
    return client, http.aclose


async def _query_all(send: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
                     table: str) -> int:
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "QUERY"}},
    }
    count = 0
    while True:
        page = await send(params)
        count += len(page["Items"])
        last = page.get("LastEvaluatedKey")
        if not last:
            return count
        params = {**params, "ExclusiveStartKey": last}


def _senders(sync: Any, aio: Any, dynamo: Any, operation: str
             ) -> dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]]:
    async def sync_send(params: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = sync.send(operation, params)
        return result

    async def aio_send(params: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await aio.send(operation, params)
        return result

    senders: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
        ASYNC: aio_send, SYNC: sync_send}
    if dynamo is not None:
        async def dynamo_send(params: dict[str, Any]) -> dict[str, Any]:
            result: dict[str, Any] = await dynamo.send_request(action=operation, payload=params)
            return result

        senders[AIODYNAMO] = dynamo_send
    return senders


def _cases(sync: Any, aio: Any, dynamo: Any, table: str) -> dict[str, dict[str, Call]]:
    key = {"PK": {"S": "USER#1"}, "SK": {"S": "PROFILE"}}
    put = {"TableName": table, "Item": _item("USER#1", "PROFILE")}
    get = {"TableName": table, "Key": key}
    puts = _senders(sync, aio, dynamo, "PutItem")
    gets = _senders(sync, aio, dynamo, "GetItem")
    queries = _senders(sync, aio, dynamo, "Query")

    def bind(send: Callable[[dict[str, Any]], Awaitable[Any]], params: dict[str, Any]) -> Call:
        return lambda: send(params)

    def paged(send: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]) -> Call:
        return lambda: _query_all(send, table)

    return {
        "put_item": {name: bind(send, put) for name, send in puts.items()},
        "get_item": {name: bind(send, get) for name, send in gets.items()},
        "query_1000": {name: paged(send) for name, send in queries.items()},
    }


async def _run(cases: dict[str, Call], n: int, warmup: int) -> dict[str, list[float]]:
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            await cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for i in range(n):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            start = clock()
            await cases[name]()
            samples[name].append(clock() - start)
    return samples


def _report(op: str, samples: dict[str, list[float]]) -> None:
    base = statistics.median(samples[ASYNC])
    cells = []
    for name, values in samples.items():
        median = statistics.median(values)
        cells.append(f"{name} {median * 1e6:7.0f} us (p95 {p95(values) * 1e6:7.0f}, "
                     f"x{median / base:.2f})")
    print(f"{op:<11} " + "   ".join(cells))


async def _throughput(send: Call, tasks: int, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await send()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    return done / (time.perf_counter() - started)


async def _seed(aio: Any, table: str, count: int) -> None:
    for start in range(0, count, 25):
        requests = [{"PutRequest": {"Item": _item("QUERY", f"ITEM#{i:05d}")}}
                    for i in range(start, min(count, start + 25))]
        pending: dict[str, Any] = {table: requests}
        while pending:
            answer = await aio.send("BatchWriteItem", {"RequestItems": pending})
            pending = answer.get("UnprocessedItems") or {}


async def _main(args: argparse.Namespace) -> None:
    from dyntable.transport.aio_http import AsyncHttpTransport
    from dyntable.transport.http import HttpTransport

    aio = AsyncHttpTransport(endpoint_url=args.endpoint, region=args.region)
    sync = HttpTransport(endpoint_url=args.endpoint, region=args.region)
    found = _aiodynamo(args.endpoint, args.region)
    dynamo, close_dynamo = found if found is not None else (None, None)
    table = f"bench-aio-{uuid.uuid4().hex[:8]}"
    await aio.send("CreateTable", {
        "TableName": table,
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"},
                      {"AttributeName": "SK", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"},
                                 {"AttributeName": "SK", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    })
    try:
        await _seed(aio, table, args.query_items)
        print(f"endpoint {args.endpoint}, n={args.n}; x = median / {ASYNC}'s median")
        if dynamo is None:
            print("aiodynamo is not installed (pip install aiodynamo httpx): its column is "
                  "skipped")
        for op, cases in _cases(sync, aio, dynamo, table).items():
            n = (args.query_n or max(20, args.n // 20)) if op.startswith("query") else args.n
            _report(op, await _run(cases, n, warmup=max(5, n // 20)))
        if args.concurrency:
            gets = _cases(sync, aio, dynamo, table)["get_item"]
            rates = {name: await _throughput(call, args.concurrency, args.seconds)
                     for name, call in gets.items() if name != SYNC}
            shown = "   ".join(f"{name} {rate:7.0f} calls/s" for name, rate in rates.items())
            print(f"get_item with {args.concurrency} tasks: {shown}")
    finally:
        await aio.send("DeleteTable", {"TableName": table})
        await aio.close()
        sync.close()
        if close_dynamo is not None:
            await close_dynamo()


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--endpoint", default=os.environ.get("DYNTABLE_TEST_ENDPOINT"))
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--n", type=int, default=2000, help="samples per put/get")
    parser.add_argument("--query-n", type=int, default=0, help="query samples (default n/20)")
    parser.add_argument("--query-items", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=0, help="tasks for a throughput row")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of that row")
    args = parser.parse_args()
    if not args.endpoint:
        parser.error("--endpoint (or DYNTABLE_TEST_ENDPOINT) is required")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
