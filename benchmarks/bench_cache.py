"""Cached GetItem latency against uncached GetItem latency, in one run on one endpoint.

Usage (DynamoDB Local on port 8765)::

    python -m benchmarks.bench_cache --endpoint http://127.0.0.1:8765 --n 2000

Both paths go through the same ``Boto3Transport``: "uncached" calls it directly,
"cached" calls a ``CachedTransport`` over it, whose item cache is warmed first (so every
timed cached call is a hit). Calls alternate between the two paths, over ``--keys``
items. Prints medians, p95 and the ratio uncached / cached (how many times faster a
cache hit is), plus the cache's counters. Then hits only, back to back (no uncached call
in between, so they run faster than interleaved ones): ``CachedTransport`` called, and
``AsyncCachedTransport`` (over ``AsyncHttpTransport``) awaited in one event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from typing import Any

from benchmarks.common import p95
from dyntable.transport.aio_cache import AsyncCachedTransport
from dyntable.transport.aio_http import AsyncHttpTransport
from dyntable.transport.boto3 import Boto3Transport
from dyntable.transport.cache import CachedTransport


def _create_table(transport: Boto3Transport, name: str) -> None:
    transport.send("CreateTable", {
        "TableName": name,
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"},
                      {"AttributeName": "SK", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"},
                                 {"AttributeName": "SK", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    })
    transport.client.get_waiter("table_exists").wait(TableName=name)


def _key(i: int) -> dict[str, Any]:
    return {"PK": {"S": f"CUSTOMER#{i}"}, "SK": {"S": "PROFILE"}}


def _item(i: int) -> dict[str, Any]:
    return {**_key(i), "name": {"S": "Ada Lovelace"}, "email": {"S": f"ada{i}@example.com"},
            "total": {"N": "1234.50"}, "tags": {"SS": ["a", "b"]},
            "address": {"M": {"city": {"S": "London"}, "street": {"S": "St James's Sq"}}}}


def _time(send: Any, params: dict[str, Any]) -> float:
    start = time.perf_counter()
    send("GetItem", params)
    return time.perf_counter() - start


async def _async_hits(endpoint: str, region: str, table: str, n: int, keys: int
                      ) -> list[float]:
    """Per-call seconds of ``n`` AsyncCachedTransport hits (after a warm-up of misses)."""
    cached = AsyncCachedTransport(AsyncHttpTransport(endpoint_url=endpoint, region=region),
                                  max_items=max(keys, 1))
    try:
        for i in range(keys):
            await cached.send("GetItem", {"TableName": table, "Key": _key(i)})  # warm
        samples = []
        for j in range(n):
            params = {"TableName": table, "Key": _key(j % keys)}
            start = time.perf_counter()
            await cached.send("GetItem", params)
            samples.append(time.perf_counter() - start)
        if cached.stats.misses != keys:
            raise SystemExit(f"expected only warm-up misses, got {cached.stats}")
        return samples
    finally:
        await cached.close()


def run(endpoint: str, n: int, keys: int, region: str) -> dict[str, float]:
    """Measure and return the figures (seconds, and the ratio)."""
    raw = Boto3Transport(endpoint_url=endpoint, region=region)
    cached = CachedTransport(raw, max_items=max(keys, 1))
    table = f"dyntable-bench-cache-{uuid.uuid4().hex[:8]}"
    _create_table(raw, table)
    try:
        for i in range(keys):
            raw.send("PutItem", {"TableName": table, "Item": _item(i)})
            cached.send("GetItem", {"TableName": table, "Key": _key(i)})  # warm
        uncached_s: list[float] = []
        cached_s: list[float] = []
        for j in range(n):
            params = {"TableName": table, "Key": _key(j % keys)}
            pair = [(uncached_s, raw.send), (cached_s, cached.send)]
            for samples, send in pair if j % 2 else pair[::-1]:
                samples.append(_time(send, params))
        stats = cached.stats
        if stats.misses != keys:
            raise SystemExit(f"expected only warm-up misses, got {stats}")
        sync_s = [_time(cached.send, {"TableName": table, "Key": _key(j % keys)})
                  for j in range(n)]
        async_s = asyncio.run(_async_hits(endpoint, region, table, n, keys))
    finally:
        raw.send("DeleteTable", {"TableName": table})
        raw.close()
    med_u, med_c = statistics.median(uncached_s), statistics.median(cached_s)
    return {"uncached_median": med_u, "uncached_p95": p95(uncached_s),
            "cached_median": med_c, "cached_p95": p95(cached_s), "ratio": med_u / med_c,
            "hits": float(stats.hits), "sync_hits_median": statistics.median(sync_s),
            "sync_hits_p95": p95(sync_s), "async_hits_median": statistics.median(async_s),
            "async_hits_p95": p95(async_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default=os.environ.get("DYNTABLE_TEST_ENDPOINT"),
                        help="DynamoDB endpoint (default: $DYNTABLE_TEST_ENDPOINT)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--n", type=int, default=2000, help="GetItem samples per path")
    parser.add_argument("--keys", type=int, default=100, help="distinct items read")
    args = parser.parse_args()
    if not args.endpoint:
        parser.error("give --endpoint (e.g. DynamoDB Local: http://127.0.0.1:8000)")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    r = run(args.endpoint, args.n, args.keys, args.region)
    print(f"endpoint {args.endpoint}, {args.n} GetItem per path over {args.keys} items, "
          f"Python {sys.version.split()[0]}")
    print(f"uncached (Boto3Transport):        median {r['uncached_median'] * 1e6:9.1f} us  "
          f"p95 {r['uncached_p95'] * 1e6:9.1f} us")
    print(f"cached (CachedTransport, hits):   median {r['cached_median'] * 1e6:9.1f} us  "
          f"p95 {r['cached_p95'] * 1e6:9.1f} us")
    print(f"ratio uncached / cached (median): {r['ratio']:.0f}x  ({r['hits']:.0f} cache hits)")
    print("hits only, back to back:")
    for label, name in (("CachedTransport", "sync"), ("AsyncCachedTransport", "async")):
        print(f"  {label + ':':31} median {r[name + '_hits_median'] * 1e6:9.1f} us  "
              f"p95 {r[name + '_hits_p95'] * 1e6:9.1f} us")


if __name__ == "__main__":
    main()
