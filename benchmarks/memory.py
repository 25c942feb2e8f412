"""Peak memory while iterating a whole-table scan as typed objects, one fresh process each.

The driver seeds two tables (a small and a large one) with the same items, then runs, for
each contender and table, ``python -m benchmarks.memory CONTENDER ENDPOINT TABLE COUNT`` in a
fresh interpreter. That worker makes its client and sends one warm-up request (so
botocore's service model and dyntable's codec are loaded), then starts ``tracemalloc`` and
iterates the scan, keeping nothing; it prints the peak traced bytes and the item count.
Streaming means the peak depends on the page size (1 MB), not on the table size.

A second section keeps every object of the large table in a list and reports the growth of
the process's resident set (peak RSS after the scan minus RSS before it, no tracemalloc):
what holding the typed objects of a whole scan costs, against raw boto3's slotted
dataclass rows.
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
from benchmarks.contenders import (
    AIODYNAMO,
    DYN_BOTO3,
    DYN_HTTP,
    REGION,
    RESOURCE,
    STDLIB,
    Env,
    create_table,
    seed,
)
from benchmarks.items import make_rows, raw_encode

__all__ = ["run_memory"]

CONTENDERS = (RAW, RESOURCE, STDLIB, DYN_BOTO3, DYN_HTTP)
#: contenders of the "kept in a list" section
KEEPERS = (RAW, STDLIB, AIODYNAMO, DYN_BOTO3, DYN_HTTP)


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


def _measure(contender: str, endpoint: str, table: str, count: int, mode: str = "stream"
             ) -> dict[str, Any]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", contender, endpoint, table, str(count), mode],
        check=True, capture_output=True, text=True, env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["count"] != count:
        raise RuntimeError(f"{contender}: scan returned {result['count']} items, not {count}")
    return result


def run_memory(env: Env, *, sizes: tuple[int, int], list_reps: int = 3) -> list[Section]:
    """Peak traced MiB per contender for the small and the large table (streaming), and
    the RSS growth of keeping the large table's objects in a list."""
    available = [c for c in CONTENDERS if c != DYN_HTTP or env.has(DYN_HTTP)]
    tables = {n: _seed_table(env, n) for n in sizes}
    peaks: dict[tuple[str, int], float] = {}
    small, large = sizes
    keepers = [c for c in KEEPERS if c != DYN_HTTP or env.has(DYN_HTTP)]
    kept: dict[str, list[float]] = {c: [] for c in keepers}
    try:
        for i, n in enumerate(sizes):
            for name in rotated(available, i):
                peaks[name, n] = _measure(name, env.endpoint, tables[n], n)["peak"] / 2**20
        for i in range(list_reps):
            for name in rotated(keepers, i):
                try:
                    got = _measure(name, env.endpoint, tables[large], large, "keep")
                except subprocess.CalledProcessError as exc:
                    if name != AIODYNAMO:
                        raise
                    env.skipped[AIODYNAMO + " (scan kept in a list)"] = exc.stderr[-300:]
                    kept.pop(name, None)
                    keepers.remove(name)
                    break
                kept[name].append(got["growth"] / 2**20)
    finally:
        for t in tables.values():
            env.raw.delete_table(TableName=t)
    section = Section("scan_memory", f"Peak memory iterating a {large:,}-item scan "
                      "(typed objects)", "MiB")
    for name in available:
        growth = peaks[name, large] - peaks[name, small]
        section.add(section_stat(name, peaks[name, large],
                                 f"{peaks[name, small]:.1f} MiB at {small:,} items "
                                 f"({growth:+.1f} MiB for {large - small:,} more)"))
    section.notes.append("tracemalloc peak in a fresh process per contender and table size, "
                         "after one warm-up request; nothing is kept while iterating.")
    listed = Section("scan_list", f"RSS growth keeping a {large:,}-item scan in a list "
                     "(typed objects)", "MiB")
    for name, values in kept.items():
        listed.add_samples(name, values, 1.0, tail=False)
        listed.stats[-1].note = _LIST_NOTES.get(name, "")
    listed.notes.append(
        f"Peak RSS after the scan minus RSS before it, in a fresh process per contender and "
        f"repetition ({list_reps} each, interleaved; median), after one warm-up request; "
        "every object is kept in a list.")
    return [section, listed]


_LIST_NOTES = {
    RAW: "Row: dataclass(slots=True), hand-decoded",
    STDLIB: "Row: dataclass(slots=True), hand-decoded",
    AIODYNAMO: "Row from aiodynamo's plain dicts",
    DYN_BOTO3: "Invoice (pydantic model)",
    DYN_HTTP: "Invoice (pydantic model)",
}


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
    if contender == STDLIB:
        return _stdlib_iterator(endpoint, table)
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


def _stdlib_iterator(endpoint: str, table: str) -> tuple[Callable[[], Any],
                                                         Callable[[], Iterator[Any]]]:
    from benchmarks.items import raw_decode
    from benchmarks.stdlib_client import StdlibClient

    std = StdlibClient(endpoint, REGION, os.environ["AWS_ACCESS_KEY_ID"],
                       os.environ["AWS_SECRET_ACCESS_KEY"])

    def std_scan() -> Iterator[Any]:
        for page in std.pages("Scan", {"TableName": table}):
            for item in page["Items"]:
                yield raw_decode(item)

    return lambda: std.call("Scan", {"TableName": table, "Limit": 1}), std_scan


def _rss() -> int:
    """The resident set size now, in bytes (Linux ``/proc``)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    """The peak resident set size of this process so far, in bytes (``VmHWM``; not
    ``getrusage``'s ``ru_maxrss``, which keeps the parent's peak across fork and exec)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _aiodynamo_list(endpoint: str, table: str) -> tuple[int, int]:
    """(RSS growth, items) of aiodynamo's scan kept in a list of rows."""
    import asyncio

    from benchmarks.aio import load_aiodynamo
    from benchmarks.items import resource_row

    async def run() -> tuple[int, int]:
        loaded = load_aiodynamo(endpoint)
        if isinstance(loaded, str):
            raise RuntimeError(loaded)
        try:
            async for _ in loaded.client.scan(table, limit=1):
                break
            before = _rss()
            rows = [resource_row(i) async for i in loaded.client.scan(table)]
            return _peak_rss() - before, len(rows)
        finally:
            await loaded.close()

    return asyncio.run(run())


def worker(argv: list[str]) -> None:
    """Scan ``table`` as ``contender``; print ``{"peak": bytes, "count": n}`` (streaming)
    or ``{"growth": bytes, "count": n}`` (mode ``keep``: every object kept in a list)."""
    contender, endpoint, table, _count, *rest = argv
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    mode = rest[0] if rest else "stream"
    if mode == "keep":
        if contender == AIODYNAMO:
            growth, count = _aiodynamo_list(endpoint, table)
        else:
            warm, scan = _iterator(contender, endpoint, table)
            warm()
            before = _rss()
            kept = list(scan())
            growth, count = _peak_rss() - before, len(kept)
        print(json.dumps({"growth": growth, "count": count}))
        return
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
