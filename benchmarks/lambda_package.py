"""Deploying to Lambda, measured: bundle size, running without botocore, cold start, memory.

``python -m benchmarks.lambda_package [--tls] [--runs N] [--bundles DIR]`` (``--endpoint URL``:
a running DynamoDB Local; without it, the one in ``DYNTABLE_TEST_ENDPOINT`` or a new one).
It prints Markdown:

1. **Bundle size.** Two ``pip install --target`` bundles of this checkout (a wheel build, not
   editable): with every dependency, and without boto3/botocore (dyntable ``--no-deps``, then
   its other requirements). Unzipped bytes of all files (``.pyc`` included: pip compiles
   them, and Lambda's read-only ``/var/task`` cannot cache byte-code), and the size of a zip
   at deflate level 6 (``zip -r``'s default). MB are 10^6 bytes.
2. **Without botocore.** A handler runs from the slim bundle in ``python -S -s`` (no
   site-packages) with boto3/botocore made unimportable, credentials and region in environment
   variables as on Lambda: table creation, put, batch write, query, a failed condition, a
   transaction, an update and an async get. Any attempt to import boto3/botocore is reported.
   Then once more without credentials in the environment, to show the error.
3. **Cold start.** Fresh interpreters (``-S -s``, the bundle on ``PYTHONPATH``, as
   ``/var/task``): import, three models declared, connect, first GetItem; per phase and in
   total (medians), the process's wall time, and its peak RSS (``VmHWM``). Variants run
   round-robin after one discarded warm-up round. Over plain HTTP to DynamoDB Local; with
   ``--tls`` once more through a TLS front on loopback (a self-signed certificate made with
   the ``openssl`` command, trusted through ``AWS_CA_BUNDLE`` appended to botocore's CA
   bundle), so the handshake and the loading of a full-size CA file are counted as on AWS.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.common import rotated

__all__ = [
    "VARIANTS",
    "Bundles",
    "ColdStart",
    "TlsFront",
    "Variant",
    "build_bundles",
    "child_source",
    "main",
    "runtime_requirements",
    "tls_front",
    "tree_bytes",
    "zipped_bytes",
]

ROOT = Path(__file__).resolve().parents[1]
#: What the Lambda runtime already carries, left out of the slim bundle.
SDK = ("boto3", "botocore")
MB = 1e6

_IMPORTS = (
    "import os\nfrom datetime import datetime\nfrom decimal import Decimal\n"
    "from dyntable import GSI, Key, Model, Table\n"
)
#: Three models on one table with a GSI: what a small service declares at module level.
MODELS = '''
shop = Table(os.environ["TABLE_NAME"], pk="PK", sk="SK",
             gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Customer(Model, table=shop, entity="customer"):
    username: str
    email: str
    name: str

    primary = Key(pk="CUSTOMER#{username}", sk="PROFILE")
    by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="EMAIL#{email}")


class Order(Model, table=shop, entity="order"):
    username: str
    order_id: str
    placed_at: datetime
    total: Decimal

    primary = Key(pk="CUSTOMER#{username}", sk="ORDER#{order_id}")


class OrderLine(Model, table=shop, entity="line"):
    order_id: str
    sku: str
    quantity: int
    price: Decimal

    primary = Key(pk="ORDER#{order_id}", sk="LINE#{sku}")
'''
_GET = '''found = db.get(Customer, username="ada")
assert found is not None and found.name == "Ada"
'''
_ASYNC_GET = '''
async def main():
    db = await shop.connect_async()
    found = await db.get(Customer, username="ada")
    assert found is not None and found.name == "Ada"
    await db.close()

asyncio.run(main())
'''
_RAW_GET = '''found = client.get_item(TableName=os.environ["TABLE_NAME"],
                       Key={"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "PROFILE"}})
assert found["Item"]["name"] == {"S": "Ada"}
'''


@dataclass(frozen=True)
class Variant:
    """One cold-start contender: the code of each phase, and the bundle it runs from."""

    name: str
    bundle: str  # "slim", "full" or "slim-nopyc"
    imports: str = ""
    declare: str = ""
    connect: str = ""
    first_get: str = ""


VARIANTS: tuple[Variant, ...] = (
    Variant("python -S (bare interpreter)", "slim"),
    Variant("dyntable, default transport", "slim", _IMPORTS, MODELS, "db = shop.connect()\n",
            _GET),
    Variant("dyntable, default transport, bundle with boto3", "full", _IMPORTS, MODELS,
            "db = shop.connect()\n", _GET),
    Variant("dyntable, default async transport", "slim", "import asyncio\n" + _IMPORTS, MODELS,
            "", _ASYNC_GET),
    Variant("dyntable, CachedTransport(HttpTransport)", "slim", _IMPORTS, MODELS,
            "from dyntable.transport import CachedTransport, HttpTransport\n"
            "db = shop.connect(transport=CachedTransport(HttpTransport(), item_ttl=30))\n",
            _GET),
    Variant("dyntable, Boto3Transport", "full", _IMPORTS, MODELS,
            "from dyntable.transport import Boto3Transport\n"
            "db = shop.connect(transport=Boto3Transport())\n", _GET),
    Variant("dyntable, CachedTransport(Boto3Transport) (old recipe)", "full", _IMPORTS, MODELS,
            "from dyntable.transport import Boto3Transport, CachedTransport\n"
            "db = shop.connect(transport=CachedTransport(Boto3Transport(), item_ttl=30))\n",
            _GET),
    Variant("raw boto3 client (no models)", "full", "import os\nimport boto3\n", "",
            'client = boto3.client("dynamodb")\n', _RAW_GET),
    Variant("dyntable, default transport, bundle without .pyc", "slim-nopyc", _IMPORTS, MODELS,
            "db = shop.connect()\n", _GET),
)
RAW_NAME = "raw boto3 client (no models)"


# Peak RSS in KiB. Linux's VmHWM belongs to the process's own memory map, made at exec; the
# ``ru_maxrss`` of getrusage() also keeps the high-water mark of the map exec replaced, i.e.
# of the parent that forked the child (this benchmark, with dyntable and pydantic loaded).
_PEAK_RSS = """try:
    with open("/proc/self/status") as _f:
        _peak = next(int(ln.split()[1]) for ln in _f if ln.startswith("VmHWM:"))
except OSError:
    _peak = _r.getrusage(_r.RUSAGE_SELF).ru_maxrss
"""


def child_source(variant: Variant) -> str:
    """The ``python -c`` program of one cold start; it prints ``RESULT`` and its figures."""
    return (
        "import time as _t, resource as _r\n_t0 = _t.perf_counter()\n"
        f"{variant.imports}_t1 = _t.perf_counter()\n"
        f"{variant.declare}_t2 = _t.perf_counter()\n"
        f"{variant.connect}_t3 = _t.perf_counter()\n"
        f"{variant.first_get}_t4 = _t.perf_counter()\n"
        f"{_PEAK_RSS}print('RESULT', _t1 - _t0, _t2 - _t1, _t3 - _t2, _t4 - _t3, _peak)\n"
    )


# ---------------------------------------------------------------- bundles


@dataclass(frozen=True)
class Bundles:
    """The bundle directories: ``full`` (with boto3/botocore) and ``slim`` (without)."""

    full: Path
    slim: Path
    slim_nopyc: Path
    excluded: tuple[str, ...]
    added: tuple[str, ...]

    def path(self, name: str) -> Path:
        """The directory of the bundle called ``name`` in :class:`Variant`."""
        return {"full": self.full, "slim": self.slim, "slim-nopyc": self.slim_nopyc}[name]


def _pip_install(target: Path, *args: str) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--target", str(target), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def runtime_requirements(bundle: Path, dist: str = "dyntable") -> list[str]:
    """The unconditional ``Requires-Dist`` of ``dist`` installed in ``bundle`` (no extras)."""
    (info,) = bundle.glob(f"{dist}-*.dist-info")
    out = []
    for line in (info / "METADATA").read_text(encoding="utf-8").splitlines():
        if line.startswith("Requires-Dist:") and "extra ==" not in line:
            out.append(line.split(":", 1)[1].split(";", 1)[0].strip())
    return out


def _name(requirement: str) -> str:
    for i, ch in enumerate(requirement):
        if not (ch.isalnum() or ch in "-_."):
            return requirement[:i].lower()
    return requirement.lower()


def build_bundles(source: Path, root: Path) -> Bundles:
    """Build the bundles under ``root`` from the project at ``source`` (reused if present)."""
    full, slim, nopyc = root / "full", root / "slim", root / "slim-nopyc"
    if not full.exists():
        _pip_install(full, str(source))
    if not slim.exists():
        _pip_install(slim, "--no-deps", str(source))
        wanted = [r for r in runtime_requirements(slim) if _name(r) not in SDK]
        _pip_install(slim, *wanted)
    if not nopyc.exists():
        shutil.copytree(slim, nopyc, ignore=shutil.ignore_patterns("__pycache__"))
    requirements = runtime_requirements(slim)
    return Bundles(
        full, slim, nopyc,
        excluded=tuple(r for r in requirements if _name(r) in SDK),
        added=tuple(r for r in requirements if _name(r) not in SDK),
    )


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def tree_bytes(root: Path) -> tuple[int, int]:
    """(number of files, total bytes) of the regular files under ``root``."""
    sizes = [p.stat().st_size for p in _files(root)]
    return len(sizes), sum(sizes)


def zipped_bytes(root: Path) -> int:
    """The size of a deflate (level 6) zip of ``root``'s files, paths relative to it."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "bundle.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for path in _files(root):
                zf.write(path, path.relative_to(root).as_posix())
        return archive.stat().st_size


def _size_rows(bundles: Bundles) -> list[str]:
    rows = ["| bundle | files | unzipped MB | zipped MB |", "| --- | ---: | ---: | ---: |"]
    for label, path in (("with boto3/botocore", bundles.full),
                        ("without boto3/botocore", bundles.slim),
                        ("without boto3/botocore, no .pyc", bundles.slim_nopyc)):
        count, size = tree_bytes(path)
        rows.append(f"| {label} | {count} | {size / MB:.1f} | {zipped_bytes(path) / MB:.1f} |")
    return rows


# ---------------------------------------------------------------- running from a bundle


def _child_env(bundle: Path, endpoint: str, table: str, *, credentials: bool = True
               ) -> dict[str, str]:
    """What a Lambda function sees (region, credentials, TABLE_NAME), and the endpoint."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(bundle),
           "LANG": "C.UTF-8", "TABLE_NAME": table, "AWS_REGION": "us-east-1",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_DYNAMODB": endpoint}
    if credentials:
        env.update(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                   AWS_SESSION_TOKEN="token")
    if bundle.name == "slim-nopyc":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in ``python -S -s`` from the bundle directory (``/var/task`` on Lambda)."""
    return subprocess.run([sys.executable, "-S", "-s", "-c", code], env=env, capture_output=True,
                          text=True, check=False, timeout=120, cwd=env["PYTHONPATH"])


_PROBE = '''
import asyncio, importlib.util, os, sys

assert importlib.util.find_spec("botocore") is None, "botocore is on the path"
assert importlib.util.find_spec("boto3") is None, "boto3 is on the path"
attempts = []


class NoSdk:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("boto3", "botocore"):
            attempts.append(name)
            raise ModuleNotFoundError(f"blocked: {name}")
        return None


sys.meta_path.insert(0, NoSdk())
''' + _IMPORTS + MODELS + '''
from datetime import timezone

import dyntable
import pydantic
from dyntable import F

bundle = os.environ["PYTHONPATH"]
assert dyntable.__file__.startswith(bundle) and pydantic.__file__.startswith(bundle)
from dyntable.errors import ConditionalCheckFailedError

db = shop.connect()
done = [type(db.transport).__name__]
try:
    db.create_table()
    db.put(Customer(username="ada", email="ada@x.io", name="Ada"))
    done.append("PutItem")
    with db.batch_writer() as batch:
        for i in range(30):
            batch.put(Order(username="ada", order_id=f"o{i:02}",
                            placed_at=datetime(2026, 11, 30, tzinfo=timezone.utc),
                            total=Decimal(i)))
    done.append("BatchWriteItem")
    assert len(db.query(Order.primary, username="ada").where(F.total >= 10).all()) == 20
    done.append("Query")
    try:
        db.put(Customer(username="ada", email="x", name="X"), condition=F.name.not_exists())
    except ConditionalCheckFailedError:
        done.append("ConditionalCheckFailed")
    with db.transaction() as tx:
        tx.put(OrderLine(order_id="o01", sku="a", quantity=1, price=Decimal("2.5")))
        tx.put(OrderLine(order_id="o01", sku="b", quantity=2, price=Decimal("1")))
    done.append("TransactWriteItems")
    db.update(Customer, username="ada").set(name="Ada L.").execute()
    done.append("UpdateItem")

    async def read():
        adb = await shop.connect_async()
        found = await adb.get(Customer, username="ada")
        await adb.close()
        return type(adb.transport).__name__, found.name

    kind, name = asyncio.run(read())
    assert name == "Ada L."
    done.append(f"{kind} GetItem")
finally:
    db.delete_table()
print("PROBE", ", ".join(done), "| blocked imports:", attempts or "none")
'''
_NO_CREDENTIALS = _IMPORTS + MODELS + '''
try:
    shop.connect().get(Customer, username="ada")
except Exception as exc:
    print("PROBE", type(exc).__name__ + ":", exc)
'''


def probe_without_botocore(bundles: Bundles, endpoint: str) -> list[str]:
    """Run the handler checks from the slim bundle; the lines the probes printed."""
    out = []
    table = f"lambda-probe-{uuid.uuid4().hex[:8]}"
    for code, creds in ((_PROBE, True), (_NO_CREDENTIALS, False)):
        done = _python(code, _child_env(bundles.slim, endpoint, table, credentials=creds))
        lines = [ln[6:] for ln in done.stdout.splitlines() if ln.startswith("PROBE ")]
        if done.returncode or not lines:
            raise RuntimeError(f"probe failed:\n{done.stdout}{done.stderr}")
        out.extend(lines)
    return out


# ---------------------------------------------------------------- cold start


@dataclass
class ColdStart:
    """One process: phase times and wall time (seconds), peak RSS (KiB)."""

    phases: tuple[float, float, float, float]
    wall: float
    rss_kib: int


def _cold_start(variant: Variant, env: dict[str, str]) -> ColdStart:
    start = time.perf_counter()
    done = _python(child_source(variant), env)
    wall = time.perf_counter() - start
    result = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not result:
        raise RuntimeError(f"{variant.name} failed:\n{done.stdout}{done.stderr}")
    _, *times, rss = result[0].split()
    a, b, c, d = (float(t) for t in times)
    return ColdStart((a, b, c, d), wall, int(rss))


@contextlib.contextmanager
def _table_with_ada(endpoint: str) -> Iterator[str]:
    """A table holding the item every variant reads; deleted afterwards."""
    from dyntable.transport.credentials import Credentials
    from dyntable.transport.http import HttpTransport

    name = f"lambda-bench-{uuid.uuid4().hex[:8]}"
    namespace: dict[str, object] = {}
    os.environ["TABLE_NAME"] = name
    exec(_IMPORTS + MODELS, namespace)
    transport = HttpTransport(endpoint_url=endpoint, region="us-east-1",
                              credentials=Credentials("x", "x"))
    db = namespace["shop"].connect(transport=transport)  # type: ignore[attr-defined]
    db.create_table()
    try:
        db.put(namespace["Customer"](username="ada", email="ada@x.io",  # type: ignore[operator]
                                     name="Ada"))
        yield name
    finally:
        db.delete_table()
        db.close()


def run_cold_starts(bundles: Bundles, endpoint: str, runs: int,
                    variants: tuple[Variant, ...] = VARIANTS, *,
                    tls: TlsFront | None = None) -> dict[str, list[ColdStart]]:
    """``runs`` fresh processes per variant, round-robin, after one warm-up round.

    With ``tls``, the processes reach ``endpoint`` through that TLS front instead.
    """
    samples: dict[str, list[ColdStart]] = {v.name: [] for v in variants}
    with _table_with_ada(endpoint) as table:
        url = tls.url if tls else endpoint
        envs = {v.name: _child_env(bundles.path(v.bundle), url, table) for v in variants}
        if tls:
            for env in envs.values():
                env["AWS_CA_BUNDLE"] = str(tls.ca_bundle)
        for v in variants:
            _cold_start(v, envs[v.name])
        by_name = {v.name: v for v in variants}
        for i in range(runs):
            for name in rotated(list(by_name), i):
                samples[name].append(_cold_start(by_name[name], envs[name]))
    return samples


# ---------------------------------------------------------------- TLS in front of the endpoint


@dataclass(frozen=True)
class TlsFront:
    """A TLS endpoint on loopback forwarding to DynamoDB Local, and a CA file trusting it."""

    url: str
    ca_bundle: Path


def _self_signed(workdir: Path) -> tuple[Path, Path]:
    cert, key = workdir / "localhost.pem", workdir / "localhost.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _pipe(client: ssl.SSLSocket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes (one thread, ``select``)."""
    with client, upstream:
        while True:
            ready, _, _ = select.select([client, upstream], [], [], 60)
            if not ready:
                return
            for sock in ready:
                other = upstream if sock is client else client
                try:
                    data = sock.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                if not data:
                    return
                other.sendall(data)
                while sock is client and client.pending():
                    upstream.sendall(client.recv(65536))


def _serve(listener: socket.socket, context: ssl.SSLContext, upstream: tuple[str, int]) -> None:
    while True:
        try:
            raw, _ = listener.accept()
        except OSError:
            return  # closed: the benchmark is over
        try:
            client = context.wrap_socket(raw, server_side=True)
            target = socket.create_connection(upstream)
        except OSError:
            raw.close()
            continue
        threading.Thread(target=_pipe, args=(client, target), daemon=True).start()


@contextlib.contextmanager
def tls_front(endpoint: str, sdk_ca: Path | None) -> Iterator[TlsFront]:
    """Serve TLS on ``127.0.0.1`` (as ``localhost``) in front of the plain-HTTP ``endpoint``.

    The CA file is ``sdk_ca`` (botocore's bundle, about as large as a system store) plus
    the self-signed certificate, so every transport loads a full-size bundle, as on AWS.
    """
    host, _, port = endpoint.split("://", 1)[1].rstrip("/").rpartition(":")
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = _self_signed(Path(tmp))
        ca = Path(tmp) / "ca.pem"
        base = sdk_ca.read_text(encoding="ascii") if sdk_ca else ""
        ca.write_text(base + cert.read_text(encoding="ascii"), encoding="ascii")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        listener = socket.create_server(("127.0.0.1", 0))
        thread = threading.Thread(target=_serve, args=(listener, context, (host, int(port))),
                                  daemon=True)
        thread.start()
        try:
            yield TlsFront(f"https://localhost:{listener.getsockname()[1]}", ca)
        finally:
            listener.close()
            thread.join(5)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _cold_rows(samples: dict[str, list[ColdStart]]) -> list[str]:
    rows = ["| variant | import | declare 3 models | connect | first get | total (in process) "
            "| process wall | peak RSS MB | total / raw boto3 | RSS / raw boto3 |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    raw = samples.get(RAW_NAME)
    raw_total = _median([sum(s.phases) for s in raw]) if raw else None
    raw_rss = _median([s.rss_kib for s in raw]) if raw else None
    for name, runs in samples.items():
        phases = [_median([s.phases[i] for s in runs]) * 1e3 for i in range(4)]
        total = _median([sum(s.phases) for s in runs])
        rss = _median([s.rss_kib for s in runs])
        ratio = f"{total / raw_total:.2f}x" if raw_total else "-"
        rss_ratio = f"{rss / raw_rss:.2f}x" if raw_rss else "-"
        cells = " | ".join(f"{p:.1f}" for p in phases)
        rows.append(f"| {name} | {cells} | {total * 1e3:.1f} ms "
                    f"| {_median([s.wall for s in runs]) * 1e3:.0f} ms "
                    f"| {rss * 1024 / MB:.1f} | {ratio} | {rss_ratio} |")
    return rows


# ---------------------------------------------------------------- main


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


@contextlib.contextmanager
def _endpoint(given: str | None) -> Iterator[str]:
    url = given or os.environ.get("DYNTABLE_TEST_ENDPOINT")
    if url:
        yield url
        return
    from dyntable.testing.dynamodb_local import DynamoDBLocal

    with DynamoDBLocal() as server:
        yield server.endpoint_url


def main(argv: list[str] | None = None) -> None:
    """Build the bundles, probe them, time cold starts; print the report as Markdown."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lambda_package",
                                     description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--endpoint", help="a running DynamoDB Local (default: "
                        "DYNTABLE_TEST_ENDPOINT, else start one)")
    parser.add_argument("--runs", type=int, default=15, help="processes per variant (15)")
    parser.add_argument("--source", type=Path, default=ROOT, help="the project to bundle")
    parser.add_argument("--bundles", type=Path, help="build (or reuse) the bundles here "
                        "instead of a temporary directory")
    parser.add_argument("--tls", action="store_true", help="also time the cold starts over "
                        "TLS (a loopback TLS front to the endpoint; needs the openssl command)")
    args = parser.parse_args(argv)
    print(f"# Lambda packaging and cold start ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)")
    print(f"\nPython {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs; "
          f"load average before: {_load()}")
    with contextlib.ExitStack() as stack:
        root = args.bundles or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        bundles = build_bundles(args.source, root)
        print(f"\n## Bundle size\n\nslim: `pip install --target DIR --no-deps {args.source}` "
              f"then `pip install --target DIR {' '.join(repr(r) for r in bundles.added)}` "
              f"(left out: {', '.join(bundles.excluded)} and their dependencies)\n")
        print("\n".join(_size_rows(bundles)))
        endpoint = stack.enter_context(_endpoint(args.endpoint))
        print("\n## The slim bundle without botocore (python -S -s, credentials in the "
              "environment)\n")
        for line in probe_without_botocore(bundles, endpoint):
            print(f"- {line}")
        samples = run_cold_starts(bundles, endpoint, args.runs)
        print(f"\n## Cold start: import + 3 models + connect + first GetItem (ms, median of "
              f"{args.runs} fresh processes each)\n")
        print("\n".join(_cold_rows(samples)))
        if args.tls:
            sdk_ca = bundles.full / "botocore" / "cacert.pem"
            front = stack.enter_context(tls_front(endpoint, sdk_ca if sdk_ca.exists() else None))
            samples = run_cold_starts(bundles, endpoint, args.runs, tls=front)
            print(f"\n## The same over TLS (ms, median of {args.runs} fresh processes each)\n")
            print("\n".join(_cold_rows(samples)))
    print(f"\nload average after: {_load()}")


if __name__ == "__main__":
    main()
