"""Profile where dyntable's time goes: ``python -m benchmarks.profiling WHAT``.

``WHAT`` is ``put``, ``get``, ``query`` (1,000 items), ``encode``, ``decode`` or ``all``.
The network cases start a DynamoDB Local (or use ``--endpoint``). Prints cProfile's top
functions by own time; with ``--pyinstrument`` (if installed) prints a call tree instead.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from benchmarks.items import Invoice, bench_table, make_rows, to_dyntable

__all__ = ["main"]

NETWORK = ("put", "get", "query")
LOCAL = ("encode", "decode")


def _local_cases() -> dict[str, tuple[Callable[[], Any], int]]:
    from dyntable._internal.codec.items import codec_for

    codec = codec_for(Invoice)
    objs = [to_dyntable(r) for r in make_rows(200)]
    items = [codec.encode(o) for o in objs]
    return {
        "encode": (lambda: [codec.encode(o) for o in objs], 200),
        "decode": (lambda: [codec.decode(i) for i in items], 100),
    }


def _network_cases(db: Any, raw: Any) -> dict[str, tuple[Callable[[], Any], int]]:
    from benchmarks.contenders import seed

    obj = to_dyntable(make_rows(1, tenant="profile")[0])
    db.put(obj)
    rows = make_rows(1000, tenant="profile-q")
    from dyntable._internal.codec.items import codec_for

    codec = codec_for(Invoice)
    seed(raw, db.table_name, [codec.encode(to_dyntable(r)) for r in rows])
    return {
        "put": (lambda: db.put(obj), 1000),
        "get": (lambda: db.get(Invoice, tenant="profile", invoice_id=obj.invoice_id), 1000),
        "query": (lambda: db.query(Invoice.primary, tenant="profile-q").all(), 20),
    }


def _profile(name: str, case: Callable[[], Any], times: int, top: int, tree: bool) -> None:
    for _ in range(min(times, 20)):
        case()
    if tree:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(times):
            case()
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
        return
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(times):
        case()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    print(f"== {name} x {times} ==")
    print(out.getvalue())


def main(argv: list[str] | None = None) -> None:
    """Profile the chosen operations."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling")
    parser.add_argument("what", choices=[*NETWORK, *LOCAL, "all"])
    parser.add_argument("--endpoint", help="a running DynamoDB endpoint (default: start one)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--pyinstrument", action="store_true", help="print a call tree")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    wanted = [*NETWORK, *LOCAL] if args.what == "all" else [args.what]
    cases = _local_cases()
    with ExitStack() as stack:
        if any(w in NETWORK for w in wanted):
            endpoint = args.endpoint
            if endpoint is None:
                from dyntable.testing.dynamodb_local import DynamoDBLocal

                endpoint = stack.enter_context(DynamoDBLocal()).endpoint_url
            import boto3

            from benchmarks.contenders import REGION, create_table

            db = bench_table.connect(endpoint_url=endpoint, region=REGION,
                                     table_name="bench-profile")
            raw = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
            create_table(raw, db.table_name)
            stack.callback(db.delete_table)
            cases.update(_network_cases(db, raw))
        for name in wanted:
            case, times = cases[name]
            _profile(name, case, times, args.top, args.pyinstrument)


if __name__ == "__main__":
    main()
