"""Cold start as whole processes: ``import`` time and client creation, fresh interpreters.

Each variant is a ``python -c`` snippet; the variants run round-robin, ``runs`` times each
(plus one discarded warm-up round that also writes byte-code caches), and the median wall
time of the process is reported. The bare interpreter (``pass``) is measured too, so the
cost of each snippet is its time minus that floor.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.common import RAW, Section, Stat, rotated

__all__ = ["IMPORT_VARIANTS", "run_startup"]

_TABLE = "from dyntable import Table; t = Table('bench', pk='PK', sk='SK'); "
_ENDPOINT = "http://127.0.0.1:1"

IMPORT_VARIANTS: dict[str, str] = {
    "python (bare interpreter)": "pass",
    "import boto3, pydantic": "import boto3, pydantic",
    "import boto3; from pydantic import BaseModel": "import boto3; from pydantic import BaseModel",
    "import dyntable": "import dyntable",
    "import boto3, pydantic, dyntable + Model/Table/Key": (
        "import boto3, pydantic, dyntable; from dyntable import Model, Table, Key"
    ),
}

CLIENT_VARIANTS: dict[str, str] = {
    RAW: f"import boto3; boto3.client('dynamodb', region_name='us-east-1', "
         f"endpoint_url='{_ENDPOINT}')",
    "dyntable (boto3)": (
        _TABLE + "from dyntable.transport.boto3 import Boto3Transport; "
        f"t.connect(transport=Boto3Transport(endpoint_url='{_ENDPOINT}', region='us-east-1'))"
    ),
    "dyntable (http)": (
        _TABLE + "from dyntable.transport.http import HttpTransport; "
        f"t.connect(transport=HttpTransport(endpoint_url='{_ENDPOINT}', region='us-east-1'))"
    ),
}


_CACHE = tempfile.mkdtemp(prefix="dyntable-bench-pycache-")
# Byte-code is cached (in a private folder) so that every process measures warm imports,
# also where PYTHONDONTWRITEBYTECODE is set.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_ENV["PYTHONPYCACHEPREFIX"] = _CACHE


def _time(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=_ENV)
    return time.perf_counter() - start


def _measure(variants: dict[str, str], runs: int) -> dict[str, list[float]]:
    names = list(variants)
    for name in names:
        _time(variants[name])
    samples: dict[str, list[float]] = {n: [] for n in names}
    for i in range(runs):
        for name in rotated(names, i):
            samples[name].append(_time(variants[name]))
    return samples


def run_startup(runs: int, *, with_http: bool) -> list[Section]:
    """Import-time and client-creation sections (milliseconds, median of ``runs``)."""
    clients = dict(CLIENT_VARIANTS)
    if not with_http:
        clients.pop("dyntable (http)")
    samples = _measure({**IMPORT_VARIANTS, **clients}, runs)
    imports = Section("import", "Import time (whole process)", "ms")
    for name in IMPORT_VARIANTS:
        imports.add(Stat(name, statistics.median(samples[name]) * 1e3, None, runs))
    imports.notes.append(f"median of {runs} fresh processes per variant, interleaved; "
                         "byte-code caches warm.")
    create = Section("client", "Import + client creation (whole process)", "ms")
    for name in clients:
        create.add(Stat(name, statistics.median(samples[name]) * 1e3, None, runs))
    create.notes.append("`raw boto3` is `import boto3; boto3.client('dynamodb', ...)`; the "
                        "dyntable rows declare a table and call `connect()`.")
    return [imports, create]
