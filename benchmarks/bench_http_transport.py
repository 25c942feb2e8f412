"""HttpTransport against a raw boto3 client, interleaved, in one run on one endpoint.

Usage (DynamoDB Local on port 8765)::

    python -m benchmarks.bench_http_transport --endpoint http://127.0.0.1:8765 --n 2000

Measures ``PutItem``, ``GetItem`` and a 1,000-item ``Query`` (all pages), alternating
which client goes first, and prints medians, p95 and the HttpTransport / boto3 ratio.
With ``--cold-runs N`` it also times, in N fresh processes each, creating a boto3 client
and creating an HttpTransport (imports included), and prints the medians and ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from benchmarks.common import p95
from benchmarks.contenders import create_table

COLD_BOTO3 = "import boto3; boto3.client('dynamodb', region_name='us-east-1')"
COLD_HTTP = (
    "from dyntable.transport.http import HttpTransport; "
    "HttpTransport(region='us-east-1', endpoint_url='http://127.0.0.1:1')"
)


def _item(pk: str, sk: str) -> dict[str, Any]:
    return {
        "PK": {"S": pk},
        "SK": {"S": sk},
        "name": {"S": "Ada Lovelace"},
        "email": {"S": "ada@example.com"},
        "total": {"N": "1234.50"},
        "tags": {"SS": ["a", "b"]},
        "blob": {"B": b"\x00\x01\x02payload"},
    }


def _seed(client: Any, table: str, count: int) -> None:
    for start in range(0, count, 25):
        requests = [
            {"PutRequest": {"Item": _item("QUERY", f"ITEM#{i:05d}")}}
            for i in range(start, min(count, start + 25))
        ]
        pending: dict[str, Any] = {table: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _query_all(call: Callable[..., dict[str, Any]], table: str) -> int:
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "QUERY"}},
    }
    count = 0
    while True:
        page = call(params)
        count += len(page["Items"])
        last = page.get("LastEvaluatedKey")
        if not last:
            return count
        params = {**params, "ExclusiveStartKey": last}


def _cases(client: Any, transport: Any, table: str) -> dict[str, dict[str, Callable[[], Any]]]:
    key = {"PK": {"S": "USER#1"}, "SK": {"S": "PROFILE"}}
    item = _item("USER#1", "PROFILE")
    return {
        "put_item": {
            "boto3": lambda: client.put_item(TableName=table, Item=item),
            "http": lambda: transport.send("PutItem", {"TableName": table, "Item": item}),
        },
        "get_item": {
            "boto3": lambda: client.get_item(TableName=table, Key=key),
            "http": lambda: transport.send("GetItem", {"TableName": table, "Key": key}),
        },
        "query_1000": {
            "boto3": lambda: _query_all(lambda p: client.query(**p), table),
            "http": lambda: _query_all(lambda p: transport.send("Query", p), table),
        },
    }


def _run(cases: dict[str, Callable[[], Any]], n: int, warmup: int) -> dict[str, list[float]]:
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for i in range(n):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            start = clock()
            cases[name]()
            samples[name].append(clock() - start)
    return samples


def _report(op: str, samples: dict[str, list[float]]) -> None:
    b, h = samples["boto3"], samples["http"]
    bm, hm = statistics.median(b), statistics.median(h)
    print(
        f"{op:<11} boto3 {bm * 1e6:8.0f} us (p95 {p95(b) * 1e6:8.0f})   "
        f"http {hm * 1e6:8.0f} us (p95 {p95(h) * 1e6:8.0f})   "
        f"ratio median {hm / bm:.2f}  p95 {p95(h) / p95(b):.2f}"
    )


def _cold(code: str, runs: int, cache_dir: str) -> float:
    # Byte-code is cached in a private directory for both clients (one discarded warm-up
    # run writes it), so neither side pays compilation and the work tree stays clean.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default=os.environ.get("DYNTABLE_TEST_ENDPOINT"))
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--n", type=int, default=2000, help="samples per put/get")
    parser.add_argument("--query-n", type=int, default=0, help="query samples (default n/10)")
    parser.add_argument("--query-items", type=int, default=1000)
    parser.add_argument("--cold-runs", type=int, default=0, help="fresh processes per client")
    args = parser.parse_args()
    if not args.endpoint:
        parser.error("--endpoint (or DYNTABLE_TEST_ENDPOINT) is required")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

    import boto3

    from dyntable.transport.http import HttpTransport

    client = boto3.client("dynamodb", endpoint_url=args.endpoint, region_name=args.region)
    transport = HttpTransport(endpoint_url=args.endpoint, region=args.region)
    table = f"bench-http-{uuid.uuid4().hex[:8]}"
    create_table(client, table)
    try:
        _seed(client, table, args.query_items)
        cases = _cases(client, transport, table)
        print(f"endpoint {args.endpoint}, n={args.n}")
        for op, pair in cases.items():
            n = (args.query_n or max(20, args.n // 10)) if op.startswith("query") else args.n
            _report(op, _run(pair, n, warmup=max(5, n // 20)))
    finally:
        client.delete_table(TableName=table)
        transport.close()
    if args.cold_runs:
        with tempfile.TemporaryDirectory() as cache_dir:
            boto_cold = _cold(COLD_BOTO3, args.cold_runs, cache_dir)
            http_cold = _cold(COLD_HTTP, args.cold_runs, cache_dir)
        print(
            f"cold start (median of {args.cold_runs} processes): boto3 client "
            f"{boto_cold * 1e3:.0f} ms, HttpTransport {http_cold * 1e3:.0f} ms, "
            f"ratio {http_cold / boto_cold:.2f}"
        )


if __name__ == "__main__":
    main()
