"""Cold start as whole processes: ``import`` time and client creation, fresh interpreters.

Each variant is a ``python -c`` snippet; the variants run round-robin, ``runs`` times each
(plus one discarded warm-up round that also writes byte-code caches), and the median wall
time of the process is reported. The bare interpreter (``pass``) is measured too, so the
cost of each snippet is its time minus that floor: the "cold start over a bare interpreter"
section gives those differences (ratios there are the issue's "over a bare interpreter").

Client rows: raw boto3 (``import boto3; boto3.client(...)``), the stdlib reference client
(:mod:`benchmarks.stdlib_client`: ``http.client`` + SigV4), dyntable connecting a table
without models, dyntable declaring three models (:data:`THREE_MODELS_CODE`) then
connecting, and pydantic's own floor for the same three models (``defer_build``, as
dyntable's models) plus ``http.client``: what any pydantic-based client pays.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.common import RAW, Section, Stat, rotated
from benchmarks.contenders import DYN_BOTO3, DYN_HTTP, STDLIB

__all__ = ["IMPORT_VARIANTS", "PYDANTIC_FLOOR", "THREE_MODELS", "THREE_MODELS_CODE",
           "run_startup"]

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

#: dyntable declaring three models (the shapes a small service has), then connecting.
THREE_MODELS = "dyntable (http), three models"
#: The same three models as plain pydantic models (deferred, as dyntable's) + http.client.
PYDANTIC_FLOOR = "pydantic floor: three models + http.client"

_FIELDS = {
    "Customer": ("username: str", "email: str", "name: str", "joined_at: datetime",
                 "tags: set[str] = set()"),
    "Order": ("username: str", "order_id: str", "placed_at: datetime", "total: Decimal",
              "lines: list[str]", "status: str = 'new'"),
    "Product": ("sku: str", "title: str", "price: Decimal", "stock: int = 0"),
}
_KEYS = {
    "Customer": "Key(pk='CUSTOMER#{username}', sk='PROFILE')",
    "Order": "Key(pk='CUSTOMER#{username}', sk='ORDER#{order_id}')",
    "Product": "Key(pk='PRODUCT#{sku}', sk='PRODUCT')",
}


def _classes(base: str, dyntable: bool) -> str:
    out = []
    for name, fields in _FIELDS.items():
        head = (f"class {name}({base}, table=t, entity='{name.lower()}'):" if dyntable
                else f"class {name}({base}):")
        body = [*fields, f"primary = {_KEYS[name]}"] if dyntable else list(fields)
        out.append("\n".join([head, *("    " + line for line in body)]))
    return "\n".join(out) + "\n"


_HEAD = "from datetime import datetime\nfrom decimal import Decimal\n"
#: The ``python -c`` snippet of the :data:`THREE_MODELS` row.
THREE_MODELS_CODE = (
    _HEAD + "from dyntable import Key, Model, Table\nt = Table('bench', pk='PK', sk='SK')\n"
    + _classes("Model", dyntable=True)
    + "from dyntable.transport.http import HttpTransport\n"
    f"t.connect(transport=HttpTransport(endpoint_url='{_ENDPOINT}', region='us-east-1'))\n"
)
_PYDANTIC_CODE = (
    _HEAD + "import hashlib, hmac, http.client, json\nfrom pydantic import BaseModel, ConfigDict\n"
    "class Base(BaseModel):\n    model_config = ConfigDict(defer_build=True)\n"
    + _classes("Base", dyntable=False)
    + "http.client.HTTPConnection('127.0.0.1', 1)\n"
)

CLIENT_VARIANTS: dict[str, str] = {
    RAW: f"import boto3; boto3.client('dynamodb', region_name='us-east-1', "
         f"endpoint_url='{_ENDPOINT}')",
    STDLIB: "from benchmarks.stdlib_client import StdlibClient; "
            f"StdlibClient('{_ENDPOINT}', 'us-east-1', 'bench', 'bench')",
    DYN_BOTO3: (
        _TABLE + "from dyntable.transport.boto3 import Boto3Transport; "
        f"t.connect(transport=Boto3Transport(endpoint_url='{_ENDPOINT}', region='us-east-1'))"
    ),
    DYN_HTTP: (
        _TABLE + "from dyntable.transport.http import HttpTransport; "
        f"t.connect(transport=HttpTransport(endpoint_url='{_ENDPOINT}', region='us-east-1'))"
    ),
    THREE_MODELS: THREE_MODELS_CODE,
    PYDANTIC_FLOOR: _PYDANTIC_CODE,
}
#: Rows of the "over a bare interpreter" section (the issue's cold-start rows).
_OVER_BARE = (RAW, STDLIB, DYN_HTTP, THREE_MODELS, PYDANTIC_FLOOR)
_BARE = "python (bare interpreter)"


_CACHE = tempfile.mkdtemp(prefix="dyntable-bench-pycache-")
# Byte-code is cached (in a private folder) so that every process measures warm imports,
# also where PYTHONDONTWRITEBYTECODE is set.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_ENV["PYTHONPYCACHEPREFIX"] = _CACHE
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    _ENV.setdefault(_name, "bench")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # benchmarks importable


def _time(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=_ENV, cwd=_ROOT)
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


_FIRST = (
    "import json, time\nt0 = time.perf_counter()\n{setup}t1 = time.perf_counter()\n"
    "{get}\nt2 = time.perf_counter()\n{put}\nt3 = time.perf_counter()\n"
    "print(json.dumps([t1 - t0, t2 - t1, t3 - t2]))\n"
)
_KEY = "{'PK': {'S': 'CUSTOMER#ada'}, 'SK': {'S': 'PROFILE'}}"


def _first_requests(endpoint: str, table: str) -> dict[str, str]:
    """Fresh-process snippets timing start (imports, declarations, client), first get and
    first put; each prints its three durations (seconds) as JSON."""
    raw = _FIRST.format(
        setup="import boto3\nc = boto3.client('dynamodb', region_name='us-east-1', "
              f"endpoint_url='{endpoint}')\n",
        get=f"c.get_item(TableName='{table}', Key={_KEY})",
        put=f"c.put_item(TableName='{table}', Item={{**{_KEY}, 'username': {{'S': 'ada'}}, "
            "'email': {'S': 'a@x'}, 'name': {'S': 'Ada'}, 'joined_at': {'S': "
            "'2026-01-01T00:00:00.000000Z'}, 'tags': {'SS': ['x']}, "
            "'_entity': {'S': 'customer'}})",
    )
    dyn = _FIRST.format(
        setup=_HEAD + "from datetime import timezone\nfrom dyntable import Key, Model, Table\n"
        "t = Table('bench', pk='PK', sk='SK')\n" + _classes("Model", dyntable=True)
        + "from dyntable.transport.http import HttpTransport\n"
        f"db = t.connect(transport=HttpTransport(endpoint_url='{endpoint}', "
        f"region='us-east-1'), table_name='{table}')\n",
        get="db.get(Customer, username='ada')",
        put="db.put(Customer(username='ada', email='a@x', name='Ada', "
            "joined_at=datetime(2026, 1, 1, tzinfo=timezone.utc), tags={'x'}))",
    )
    return {RAW: raw, THREE_MODELS: dyn}


def _first_request_section(endpoint: str, runs: int) -> Section:
    import json
    import uuid

    import boto3

    from benchmarks.contenders import REGION, create_table

    table = f"bench-start-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION,
                          aws_access_key_id=_ENV["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=_ENV["AWS_SECRET_ACCESS_KEY"])
    create_table(client, table)
    try:
        snippets = _first_requests(endpoint, table)
        names = list(snippets)
        parts: dict[str, list[list[float]]] = {n: [] for n in names}
        for i in range(runs + 1):  # the first round writes byte-code caches and the item
            for name in rotated(names, i):
                out = subprocess.run([sys.executable, "-c", snippets[name]], check=True,
                                     env=_ENV, cwd=_ROOT, capture_output=True, text=True)
                if i:
                    parts[name].append(json.loads(out.stdout.splitlines()[-1]))
    finally:
        client.delete_table(TableName=table)
    section = Section("first_request", "Fresh process: start, first get, first put", "ms")
    for name in names:
        start, get, put = (statistics.median(p[k] for p in parts[name]) * 1e3
                           for k in range(3))
        total = statistics.median(sum(p) for p in parts[name]) * 1e3
        section.add(Stat(name, total, None, runs,
                         note=f"start {start:.1f} ms, first get {get:.1f} ms (item present), "
                              f"first put {put:.1f} ms"))
    section.notes.append(
        "Timed inside each fresh process (so without the interpreter's own start): imports, "
        f"declarations and client creation, then one GetItem of an existing item and one "
        f"PutItem; `{THREE_MODELS}` as in the sections above (its pydantic schemas are "
        "built on first use, so a put pays for its model's). Median of "
        f"{runs} processes each, interleaved."
    )
    return section


def run_startup(runs: int, *, with_http: bool, endpoint: str | None = None) -> list[Section]:
    """Import-time and client-creation sections (milliseconds, median of ``runs``); with an
    ``endpoint`` also the first requests of a fresh process."""
    clients = dict(CLIENT_VARIANTS)
    if not with_http:
        for name in (DYN_HTTP, THREE_MODELS):
            clients.pop(name)
    samples = _measure({**IMPORT_VARIANTS, **clients}, runs)
    imports = Section("import", "Import time (whole process)", "ms")
    for name in IMPORT_VARIANTS:
        imports.add(Stat(name, statistics.median(samples[name]) * 1e3, None, runs))
    imports.notes.append(f"median of {runs} fresh processes per variant, interleaved; "
                         "byte-code caches warm.")
    create = Section("client", "Import + client creation (whole process)", "ms")
    for name in clients:
        create.add(Stat(name, statistics.median(samples[name]) * 1e3, None, runs))
    create.notes.append(
        "`raw boto3` is `import boto3; boto3.client('dynamodb', ...)`; `stdlib reference` "
        "imports benchmarks/stdlib_client.py and makes its client; `dyntable (boto3)` and "
        "`dyntable (http)` declare a table and call `connect()`; "
        f"`{THREE_MODELS}` also declares three models first (Customer, Order, Product: "
        "3-6 fields each, str, datetime, Decimal, list, set); "
        f"`{PYDANTIC_FLOOR}` declares the same three as plain pydantic models "
        "(`defer_build=True`, as dyntable's models) and makes an `http.client` connection."
    )
    bare = statistics.median(samples[_BARE])
    over = Section("cold_start", "Cold start over a bare interpreter", "ms")
    for name in _OVER_BARE:
        if name in clients:
            over.add(Stat(name, (statistics.median(samples[name]) - bare) * 1e3, None, runs))
    over.notes.append(
        "The rows above minus the bare interpreter's median: what the snippet itself costs "
        "(the ratio column is then the ratio over a bare interpreter)."
    )
    sections = [imports, create, over]
    if endpoint is not None and with_http:
        sections.append(_first_request_section(endpoint, runs))
    return sections
