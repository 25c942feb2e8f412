"""Peak memory while iterating a whole-table scan as typed objects, one fresh process each.

The driver seeds two tables (a small and a large one) with the same items, then runs, for
each contender and table, ``python -m benchmarks.memory CONTENDER ENDPOINT TABLE COUNT`` in a
fresh interpreter. That worker makes its client and sends one warm-up request (so
botocore's service model and dyntable's codec are loaded), then starts ``tracemalloc`` and
iterates the scan, keeping nothing; it prints the peak traced bytes and the item count.
Streaming means the peak depends on the page size (1 MB), not on the table size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.common import RAW, Section, rotated
from benchmarks.contenders import DYN_BOTO3, DYN_HTTP, REGION, RESOURCE, Env, create_table, seed
from benchmarks.items import make_rows, raw_encode

__all__ = ["run_memory"]

CONTENDERS = (RAW, RESOURCE, DYN_BOTO3, DYN_HTTP)


def _seed_table(env: Env, count: int) -> str:
    name = f"bench-scan-{count}-{uuid.uuid4().hex[:6]}"
    create_table(env.raw, name)
    rows = make_rows(count, tenant=f"scan{count}")
    items = [raw_encode(r) for r in rows]
    step = 2500
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda s: seed(env.raw, name, items[s:s + step]),
                      range(0, count, step)))
    return name


def _measure(contender: str, endpoint: str, table: str, count: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", contender, endpoint, table, str(count)],
        check=True, capture_output=True, text=True, env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["count"] != count:
        raise RuntimeError(f"{contender}: scan returned {result['count']} items, not {count}")
    return result


def run_memory(env: Env, *, sizes: tuple[int, int]) -> Section:
    """Peak traced MiB per contender for the small and the large table."""
    available = [c for c in CONTENDERS if c != DYN_HTTP or env.has(DYN_HTTP)]
    tables = {n: _seed_table(env, n) for n in sizes}
    peaks: dict[tuple[str, int], float] = {}
    try:
        for i, n in enumerate(sizes):
            for name in rotated(available, i):
                peaks[name, n] = _measure(name, env.endpoint, tables[n], n)["peak"] / 2**20
    finally:
        for t in tables.values():
            env.raw.delete_table(TableName=t)
    small, large = sizes
    section = Section("scan_memory", f"Peak memory iterating a {large:,}-item scan "
                      "(typed objects)", "MiB")
    for name in available:
        growth = peaks[name, large] - peaks[name, small]
        section.add(section_stat(name, peaks[name, large],
                                 f"{peaks[name, small]:.1f} MiB at {small:,} items "
                                 f"({growth:+.1f} MiB for {large - small:,} more)"))
    section.notes.append("tracemalloc peak in a fresh process per contender and table size, "
                         "after one warm-up request; nothing is kept while iterating.")
    return section


def section_stat(name: str, value: float, note: str) -> Any:
    """A :class:`~benchmarks.common.Stat` with a note."""
    from benchmarks.common import Stat

    return Stat(name, value, None, 1, note)


# -- the worker ---------------------------------------------------------------------------


def _iterator(contender: str, endpoint: str, table: str) -> tuple[Callable[[], Any],
                                                                  Callable[[], Iterator[Any]]]:
    """(warm-up call, scan iterator factory) for one contender."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    if contender == RAW:
        import boto3

        from benchmarks.items import raw_decode

        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)

        def raw_scan() -> Iterator[Any]:
            for page in client.get_paginator("scan").paginate(TableName=table):
                for item in page["Items"]:
                    yield raw_decode(item)  # type: ignore[arg-type]

        return lambda: client.scan(TableName=table, Limit=1), raw_scan
    if contender == RESOURCE:
        import boto3

        from benchmarks.items import resource_row

        res = boto3.resource("dynamodb", endpoint_url=endpoint, region_name=REGION)
        tab = res.Table(table)

        def resource_scan() -> Iterator[Any]:
            kwargs: dict[str, Any] = {}
            while True:
                page = tab.scan(**kwargs)
                for item in page["Items"]:
                    yield resource_row(item)
                if "LastEvaluatedKey" not in page:
                    return
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        return lambda: tab.scan(Limit=1), resource_scan
    from benchmarks.items import Invoice, bench_table

    if contender == DYN_HTTP:
        from dyntable.client import Client
        from dyntable.transport.http import HttpTransport

        db = Client(bench_table, transport=HttpTransport(endpoint_url=endpoint, region=REGION),
                    table_name=table)
    else:
        from dyntable.transport.boto3 import Boto3Transport

        db = bench_table.connect(
            transport=Boto3Transport(endpoint_url=endpoint, region=REGION), table_name=table
        )
    return (lambda: db.scan(Invoice).limit(1).first()), (lambda: iter(db.scan(Invoice)))


def worker(argv: list[str]) -> None:
    """Scan ``table`` as ``contender`` and print ``{"peak": bytes, "count": n}``."""
    contender, endpoint, table, _count = argv
    warm, scan = _iterator(contender, endpoint, table)
    warm()
    tracemalloc.start()
    count = 0
    for _obj in scan():
        count += 1
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"peak": peak, "count": count}))


if __name__ == "__main__":
    worker(sys.argv[1:])
