"""Cache hit latency (in-process, Redis) against uncached GetItem, and a shared cache's hit
ratio under a zipfian mix of processes, each in one run.

Usage (DynamoDB Local on port 8765; a throwaway redis-server is started unless --redis)::

    python -m benchmarks.bench_cache --endpoint http://127.0.0.1:8765 --n 2000

1. Latency. Every path goes through the same ``Boto3Transport``: "uncached" calls it
   directly, "in-process" calls a ``CachedTransport`` over it (the default store), "Redis"
   a ``CachedTransport`` with a ``RedisCacheStore``; both caches are warmed first, so every
   timed cached call is a hit. Calls rotate between the paths over ``--keys`` items.
   Prints medians, p95 and the ratio uncached / cached. Then hits only, back to back:
   ``CachedTransport`` called and ``AsyncCachedTransport`` (over ``AsyncHttpTransport``)
   awaited in one event loop.
2. Hit ratio (``--mix-ops`` > 0). 2 writer and 8 reader processes (``--writers`` /
   ``--readers``) read and write ``--mix-keys`` items picked from a zipfian distribution
   (s = ``--zipf``); writers increment a counter with UpdateItem (``ALL_NEW``, so the new
   item is written through). Run twice in the same run: every process with its own
   in-process cache (the baseline), then all sharing one Redis store. Prints each run's
   readers' hit ratio, reads served older than a write already acknowledged to a writer
   ("stale"), and throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from typing import Any

from benchmarks.common import p95
from dyntable.transport.aio_cache import AsyncCachedTransport
from dyntable.transport.aio_http import AsyncHttpTransport
from dyntable.transport.boto3 import Boto3Transport
from dyntable.transport.cache import CachedTransport
from dyntable.transport.http import HttpTransport
from dyntable.transport.redis_cache import RedisCacheStore

CTX = mp.get_context("spawn")


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
            "total": {"N": "1234.50"}, "tags": {"SS": ["a", "b"]}, "n": {"N": "0"},
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


def run(endpoint: str, redis_url: str, n: int, keys: int, region: str) -> dict[str, float]:
    """Measure the latency figures (seconds, and the ratios)."""
    raw = Boto3Transport(endpoint_url=endpoint, region=region)
    cached = CachedTransport(raw, max_items=max(keys, 1))
    shared = CachedTransport(raw, store=RedisCacheStore(redis_url,
                                                        stage=f"b{uuid.uuid4().hex[:8]}"))
    table = f"dyntable-bench-cache-{uuid.uuid4().hex[:8]}"
    _create_table(raw, table)
    try:
        for i in range(keys):
            raw.send("PutItem", {"TableName": table, "Item": _item(i)})
            cached.send("GetItem", {"TableName": table, "Key": _key(i)})  # warm
            shared.send("GetItem", {"TableName": table, "Key": _key(i)})
        samples: dict[str, list[float]] = {"uncached": [], "memory": [], "redis": []}
        sends = {"uncached": raw.send, "memory": cached.send, "redis": shared.send}
        names = list(sends)
        for j in range(n):
            params = {"TableName": table, "Key": _key(j % keys)}
            for name in names[j % 3:] + names[:j % 3]:
                samples[name].append(_time(sends[name], params))
        for cache in (cached, shared):
            if cache.stats.misses != keys or cache.stats.store_errors:
                raise SystemExit(f"expected only warm-up misses, got {cache.stats}")
        sync_s = [_time(cached.send, {"TableName": table, "Key": _key(j % keys)})
                  for j in range(n)]
        async_s = asyncio.run(_async_hits(endpoint, region, table, n, keys))
    finally:
        raw.send("DeleteTable", {"TableName": table})
        shared.close()
    med = {name: statistics.median(s) for name, s in samples.items()}
    out = {f"{name}_median": m for name, m in med.items()}
    out.update({f"{name}_p95": p95(s) for name, s in samples.items()})
    out.update({"ratio_memory": med["uncached"] / med["memory"],
                "ratio_redis": med["uncached"] / med["redis"],
                "sync_hits_median": statistics.median(sync_s), "sync_hits_p95": p95(sync_s),
                "async_hits_median": statistics.median(async_s),
                "async_hits_p95": p95(async_s)})
    return out


# -- hit ratio under a zipfian mix ---------------------------------------------------------


def _zipf_cdf(keys: int, s: float) -> list[float]:
    weights = [1 / (rank ** s) for rank in range(1, keys + 1)]
    total = sum(weights)
    cdf, acc = [], 0.0
    for w in weights:
        acc += w / total
        cdf.append(acc)
    return cdf


def _worker(role: str, seed: int, endpoint: str, region: str, table: str, redis_url: str | None,
            stage: str, keys: int, s: float, ops: int, acked: Any, start: Any, out: Any) -> None:
    """One reader or writer process; puts its figures on ``out``."""
    rnd = random.Random(seed)
    cdf = _zipf_cdf(keys, s)
    inner = HttpTransport(endpoint_url=endpoint, region=region)
    store = RedisCacheStore(redis_url, stage=stage) if redis_url else None
    cache = CachedTransport(inner, store=store) if store else CachedTransport(inner,
                                                                              max_items=keys)
    cache.learn_key_attributes(table, ["PK", "SK"])
    stale = 0
    start.wait()
    began = time.perf_counter()
    for _ in range(ops):
        i = min(bisect.bisect_left(cdf, rnd.random()), keys - 1)
        if role == "writer":
            answer = cache.send("UpdateItem", {
                "TableName": table, "Key": _key(i), "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "ALL_NEW"})
            with acked.get_lock():
                acked[i] = max(acked[i], int(answer["Attributes"]["n"]["N"]))
        else:
            floor = acked[i]
            got = cache.send("GetItem", {"TableName": table, "Key": _key(i)})
            if int(got["Item"]["n"]["N"]) < floor:
                stale += 1
    elapsed = time.perf_counter() - began
    stats = cache.stats
    cache.close()
    out.put({"role": role, "ops": ops, "seconds": elapsed, "hits": stats.hits,
             "misses": stats.misses, "stale": stale, "store_errors": stats.store_errors})


def run_mix(endpoint: str, redis_url: str | None, region: str, *, readers: int, writers: int,
            ops: int, keys: int, s: float) -> dict[str, float]:
    """One zipfian mix: ``readers`` + ``writers`` processes over one fresh table."""
    raw = Boto3Transport(endpoint_url=endpoint, region=region)
    table = f"dyntable-bench-mix-{uuid.uuid4().hex[:8]}"
    _create_table(raw, table)
    try:
        for i in range(keys):
            raw.send("PutItem", {"TableName": table, "Item": _item(i)})
        acked = CTX.Array("q", keys)
        start = CTX.Event()
        out = CTX.Queue()
        stage = f"m{uuid.uuid4().hex[:8]}"
        roles = ["writer"] * writers + ["reader"] * readers
        procs = [CTX.Process(target=_worker, args=(role, seed, endpoint, region, table,
                                                   redis_url, stage, keys, s, ops, acked,
                                                   start, out))
                 for seed, role in enumerate(roles)]
        for p in procs:
            p.start()
        time.sleep(1.0)  # let every process import and connect before the clock starts
        start.set()
        results = [out.get(timeout=600) for _ in procs]
        for p in procs:
            p.join(60)
    finally:
        raw.send("DeleteTable", {"TableName": table})
        raw.close()
    reads = [r for r in results if r["role"] == "reader"]
    writes = [r for r in results if r["role"] == "writer"]
    hits = sum(r["hits"] for r in reads)
    total = hits + sum(r["misses"] for r in reads)
    seconds = max(r["seconds"] for r in results)
    return {"hit_ratio": hits / total if total else 0.0,
            "stale": float(sum(r["stale"] for r in reads)), "reads": float(total),
            "reads_per_s": total / seconds,
            "writes_per_s": sum(r["ops"] for r in writes) / seconds,
            "store_errors": float(sum(r["store_errors"] for r in results))}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--endpoint", default=os.environ.get("DYNTABLE_TEST_ENDPOINT"),
                        help="DynamoDB endpoint (default: $DYNTABLE_TEST_ENDPOINT, else a "
                        "DynamoDB Local is started)")
    parser.add_argument("--redis", help="a Redis URL (default: start a redis-server)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--n", type=int, default=2000, help="GetItem samples per path")
    parser.add_argument("--keys", type=int, default=100, help="distinct items read")
    parser.add_argument("--mix-ops", type=int, default=2000,
                        help="operations per process in the zipfian mix (0: skip it)")
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--mix-keys", type=int, default=1000)
    parser.add_argument("--zipf", type=float, default=1.1, help="zipf exponent s")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with ExitStack() as stack:
        endpoint, redis_url = args.endpoint, args.redis
        if not endpoint:
            from dyntable.testing.dynamodb_local import DynamoDBLocal

            endpoint = stack.enter_context(DynamoDBLocal()).endpoint_url
        if not redis_url:
            from dyntable.testing.redis_server import RedisServer

            redis_url = stack.enter_context(RedisServer()).url
        _report(args, endpoint, redis_url)


def _report(args: argparse.Namespace, endpoint: str, redis_url: str) -> None:
    r = run(endpoint, redis_url, args.n, args.keys, args.region)
    print(f"endpoint {endpoint}, Redis {redis_url}, {args.n} GetItem per path over "
          f"{args.keys} items, Python {sys.version.split()[0]}")
    for label, name in (("uncached (Boto3Transport)", "uncached"),
                        ("in-process cache, hits", "memory"), ("Redis cache, hits", "redis")):
        print(f"{label + ':':33} median {r[name + '_median'] * 1e6:9.1f} us  "
              f"p95 {r[name + '_p95'] * 1e6:9.1f} us")
    print(f"ratio uncached / in-process (median): {r['ratio_memory']:.0f}x")
    print(f"ratio uncached / Redis (median):      {r['ratio_redis']:.1f}x")
    print("in-process hits only, back to back:")
    for label, name in (("CachedTransport", "sync"), ("AsyncCachedTransport", "async")):
        print(f"  {label + ':':31} median {r[name + '_hits_median'] * 1e6:9.1f} us  "
              f"p95 {r[name + '_hits_p95'] * 1e6:9.1f} us")
    if args.mix_ops <= 0:
        return
    print(f"zipfian mix (s={args.zipf}, {args.mix_keys} items): {args.writers} writers + "
          f"{args.readers} readers, separate processes, {args.mix_ops} operations each")
    for label, url in (("own in-process cache each", None), ("one shared Redis", redis_url)):
        m = run_mix(endpoint, url, args.region, readers=args.readers, writers=args.writers,
                    ops=args.mix_ops, keys=args.mix_keys, s=args.zipf)
        print(f"  {label + ':':27} hit ratio {m['hit_ratio']:6.1%}  stale reads "
              f"{m['stale']:6.0f} of {m['reads']:.0f}  reads/s {m['reads_per_s']:7.0f}  "
              f"writes/s {m['writes_per_s']:6.0f}  store errors {m['store_errors']:.0f}")


if __name__ == "__main__":
    main()
