"""Cold-start hygiene: what importing dyntable and connecting load (fresh interpreters)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("boto3", "botocore", "pydantic", "pydantic_core", "amazondax", "moto", "click", "rich")


def _loaded(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout
    return {m.split(".")[0] for m in json.loads(out.splitlines()[-1])}


def test_import_dyntable_loads_nothing_heavy() -> None:
    assert not (_loaded("import dyntable") & set(HEAVY))


def test_table_and_connect_over_http_load_no_boto3_nor_pydantic() -> None:
    loaded = _loaded(
        "import dyntable\n"
        "from dyntable.transport.http import HttpTransport\n"
        "t = dyntable.Table('tbl', pk='PK', sk='SK')\n"
        "t.connect(transport=HttpTransport(endpoint_url='http://127.0.0.1:1', "
        "region='us-east-1'))"
    )
    assert not (loaded & set(HEAVY)), loaded & set(HEAVY)


def test_declaring_a_model_loads_pydantic_but_not_boto3() -> None:
    loaded = _loaded(
        "from dyntable import Key, Model, Table\n"
        "t = Table('tbl')\n"
        "class A(Model, table=t, entity='a'):\n"
        "    u: str\n"
        "    primary = Key(pk='A#{u}', sk='A')\n"
    )
    assert "pydantic" in loaded
    assert not ({"boto3", "botocore", "amazondax", "moto"} & loaded)


def test_the_async_http_transport_loads_no_boto3_and_the_package_no_asyncio() -> None:
    loaded = _loaded(
        "from dyntable.transport.aio_http import AsyncHttpTransport\n"
        "t = AsyncHttpTransport(endpoint_url='http://127.0.0.1:1', region='us-east-1')"
    )
    assert not ({"boto3", "botocore"} & loaded), {"boto3", "botocore"} & loaded
    assert "asyncio" not in _loaded("import dyntable.transport")
