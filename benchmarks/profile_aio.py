"""Profile the async contenders: ``python -m benchmarks.profile_aio WHAT [--contender C]``.

``WHAT`` is ``put``, ``get``, ``query`` (1,000 items) or ``bulk`` (``--bulk-size`` items,
4 concurrent writers); ``C`` is ``dyntable`` (the async client), ``aiodynamo`` or ``both``
(one after the other). The cases are those of :mod:`benchmarks.aio`. Starts a DynamoDB Local
(or uses ``--endpoint``). Prints the wall time per call and pyinstrument's call tree of the
whole thread (so time spent waiting for DynamoDB shows up as the event loop's ``select``);
with ``--cprofile``, cProfile's top functions by own time instead.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import time
from contextlib import ExitStack

from benchmarks.aio import (
    Aiodynamo,
    AsyncCase,
    Contenders,
    bulk_cases,
    get_cases,
    load_aiodynamo,
    put_cases,
    query_cases,
)
from benchmarks.contenders import AIODYNAMO, DYN_ASYNC, REGION, Env
from benchmarks.items import bench_table

__all__ = ["main"]

NAMES = {"dyntable": DYN_ASYNC, "aiodynamo": AIODYNAMO}
TIMES = {"put": 1000, "get": 1000, "query": 30, "bulk": 3}


async def _cases(c: Contenders, what: str, bulk_size: int) -> dict[str, AsyncCase]:
    if what == "put":
        return put_cases(c)
    if what == "get":
        return await get_cases(c)
    if what == "query":
        return await query_cases(c, 1000)
    return bulk_cases(c, bulk_size)


async def _profile(name: str, case: AsyncCase, times: int, top: int, cprof: bool) -> None:
    for _ in range(min(times, 20)):
        await case()
    if cprof:
        prof = cProfile.Profile()
        prof.enable()
    else:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
    start = time.perf_counter()
    for _ in range(times):
        await case()
    wall = time.perf_counter() - start
    print(f"== {name} x {times}: {wall / times * 1e3:.3f} ms per call (profiled) ==")
    if cprof:
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
        print(out.getvalue())
        return
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


async def _run(args: argparse.Namespace, endpoint: str) -> None:
    env = Env(endpoint).open()
    loaded = load_aiodynamo(endpoint)
    if not isinstance(loaded, Aiodynamo):
        raise SystemExit(f"aiodynamo: {loaded}")
    db = await bench_table.connect_async(endpoint_url=endpoint, region=REGION,
                                         table_name=env.table)
    try:
        cases = await _cases(Contenders(env, db, loaded), args.what, args.bulk_size)
        wanted = list(NAMES) if args.contender == "both" else [args.contender]
        times = args.times or TIMES[args.what]
        for label in wanted:
            await _profile(f"{args.what} {NAMES[label]}", cases[NAMES[label]], times,
                           args.top, args.cprofile)
    finally:
        await db.close()
        await loaded.close()
        env.close()


def main(argv: list[str] | None = None) -> None:
    """Profile the chosen operation of the chosen async contenders."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_aio")
    parser.add_argument("what", choices=list(TIMES))
    parser.add_argument("--contender", choices=[*NAMES, "both"], default="both")
    parser.add_argument("--endpoint", help="a running DynamoDB endpoint (default: start one)")
    parser.add_argument("--times", type=int, default=0, help="calls to profile")
    parser.add_argument("--bulk-size", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cprofile", action="store_true", help="cProfile instead of a tree")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with ExitStack() as stack:
        endpoint = args.endpoint
        if endpoint is None:
            from dyntable.testing.dynamodb_local import DynamoDBLocal

            endpoint = stack.enter_context(DynamoDBLocal()).endpoint_url
        asyncio.run(_run(args, endpoint))


if __name__ == "__main__":
    main()
