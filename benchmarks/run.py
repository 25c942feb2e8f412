"""Run every benchmark in one interleaved run and write ``docs/benchmarks.md`` + chart.

Usage (from the repository root, after ``pip install -e '.[bench]'``)::

    python -m benchmarks                  # full run (about 10 minutes on 2 cores)
    python -m benchmarks --quick          # about a minute: smoke test
    python -m benchmarks --endpoint URL   # use a running DynamoDB (Local) instead

Without ``--endpoint`` a DynamoDB Local is started
(:class:`dyntable.testing.dynamodb_local.DynamoDBLocal`) and stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import Section
from benchmarks.contenders import DYN_HTTP, Env

__all__ = ["Plan", "main"]

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("codec", "latency", "bulk", "async", "memory", "startup")
NETWORK = {"latency", "bulk", "async", "memory"}


@dataclass(frozen=True)
class Plan:
    """How much work each section does."""

    codec_reps: int
    reps: int
    calls: int
    query_calls: int
    query_size: int
    bulk_size: int
    bulk_reps: int
    scan_sizes: tuple[int, int]
    startup_runs: int
    list_reps: int = 3


FULL = Plan(codec_reps=40, reps=5, calls=100, query_calls=4, query_size=1000,
            bulk_size=20_000, bulk_reps=3, scan_sizes=(5_000, 20_000), startup_runs=10)
QUICK = Plan(codec_reps=8, reps=2, calls=30, query_calls=2, query_size=1000,
             bulk_size=2_000, bulk_reps=1, scan_sizes=(1_000, 3_000), startup_runs=3,
             list_reps=1)


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke-test run")
    parser.add_argument("--endpoint", help="a running DynamoDB endpoint (default: start one)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md",
                        help="the Markdown page to write (the chart goes beside it)")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="measure nothing: rewrite the page and chart from saved figures")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" /
                        "latest.json", help="where to keep the raw figures")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    return args


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _network(env: Env, plan: Plan, only: set[str]) -> list[Section]:
    from benchmarks.aio import run_async
    from benchmarks.bulk import run_bulk
    from benchmarks.latency import run_latency
    from benchmarks.memory import run_memory

    out: list[Section] = []
    if "latency" in only:
        _log("put / get / query latency")
        out += run_latency(env, reps=plan.reps, calls=plan.calls,
                           query_calls=plan.query_calls, query_size=plan.query_size)
    if "bulk" in only:
        _log(f"bulk write of {plan.bulk_size:,} items")
        out.append(run_bulk(env, size=plan.bulk_size, reps=plan.bulk_reps))
    if "async" in only:
        _log("async client against aiodynamo: put / get / query / bulk write")
        out += run_async(env, reps=plan.reps, calls=plan.calls, query_calls=plan.query_calls,
                         query_size=plan.query_size, bulk_size=plan.bulk_size,
                         bulk_reps=plan.bulk_reps)
    if "memory" in only:
        _log(f"scan memory at {plan.scan_sizes} items")
        out += run_memory(env, sizes=plan.scan_sizes, list_reps=plan.list_reps)
    return out


def run(plan: Plan, only: set[str], endpoint: str | None) -> tuple[list[Section], Env | None,
                                                                    dict[str, str]]:
    """Measure the chosen sections; return them, the environment and extra machine facts."""
    from benchmarks.codec import run_codec
    from benchmarks.startup import run_startup

    sections: list[Section] = []
    extra: dict[str, str] = {}
    env: Env | None = None
    if "codec" in only:
        _log("codec")
        sections += run_codec(plan.codec_reps)
    if only & NETWORK:
        with ExitStack() as stack:
            if endpoint is None:
                from dyntable.testing.dynamodb_local import DynamoDBLocal

                _log("starting DynamoDB Local")
                server = stack.enter_context(DynamoDBLocal())
                endpoint = server.endpoint_url
                extra["DynamoDB Local"] = f"{server.version} (in memory, same machine)"
            else:
                extra["Endpoint"] = endpoint
            env = Env(endpoint).open()
            stack.callback(env.close)
            sections += _network(env, plan, only)
    if "startup" in only:
        _log("import and client creation")
        with_http = env is None or DYN_HTTP not in env.skipped
        sections += run_startup(plan.startup_runs, with_http=with_http)
    return sections, env, extra


def _load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min)"


def _render(out: Path, saved: dict[str, Any]) -> None:
    from benchmarks.report import write_chart, write_markdown

    sections = [Section.from_dict(s) for s in saved["sections"]]
    out.parent.mkdir(parents=True, exist_ok=True)
    chart = out.with_suffix(".png")
    skipped = dict(saved.get("skipped") or {})
    drawn = write_chart(chart, sections)
    if not drawn:
        skipped["chart"] = "matplotlib is not installed"
    write_markdown(out, sections, saved["machine"], saved["command"], skipped,
                   chart.name if drawn else None)
    _log(f"wrote {out}" + (f" and {chart}" if drawn else " (no chart: no matplotlib)"))


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, run, and write the page, the chart and the JSON figures."""
    args = _args(argv)
    if args.render:
        _render(args.out, json.loads(args.render.read_text(encoding="utf-8")))
        return
    logging.getLogger("pydynox").setLevel(logging.ERROR)
    plan = QUICK if args.quick else FULL
    load_before = _load()
    sections, env, extra = run(plan, set(args.only.split(",")), args.endpoint)
    from benchmarks.report import machine

    extra["Load average"] = f"{load_before} before the run; {_load()} after"
    command = "python -m benchmarks" + ("".join(f" {shlex.quote(a)}" for a in
                                                 (argv if argv is not None else sys.argv[1:])))
    saved = {"machine": machine(extra), "command": command,
             "skipped": dict(env.skipped) if env else {},
             "sections": [s.as_dict() for s in sections]}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(saved, indent=2, default=str), encoding="utf-8")
    _log(f"wrote {args.json}")
    _render(args.out, saved)


if __name__ == "__main__":
    main()
