"""Cold start: what connecting loads, and models whose pydantic schema is built on first use
(fresh interpreters, as a Lambda starts)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

_MODEL = (
    "from dyntable import Key, Model, Table\n"
    "t = Table('tbl', pk='PK', sk='SK')\n"
    "class A(Model, table=t, entity='a'):\n"
    "    u: str\n"
    "    primary = Key(pk='A#{u}', sk='A')\n"
)
_CONNECT = (
    "from dyntable.transport.http import HttpTransport\n"
    "db = t.connect(transport=HttpTransport(endpoint_url='http://127.0.0.1:1', "
    "region='us-east-1'))\n"
)


def _run(code: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it leaves its findings in ``out`` (a dict)."""
    probe = f"import json, sys\nout = {{}}\n{code}\nprint(json.dumps(out))"
    result = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                            text=True)
    found: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return found


def test_connect_loads_the_driver_not_the_operations() -> None:
    found = _run(
        _MODEL + _CONNECT
        + "out['mods'] = sorted(m for m in sys.modules if m.startswith('dyntable'))\n"
        "from dyntable.client import Query, UpdateBuilder\n"
        "out['query'] = Query.__module__\n"
    )
    loaded = set(found["mods"])
    assert "dyntable.client" in loaded
    later = {"dyntable._internal.operations.item_flows", "dyntable._internal.operations.query",
             "dyntable._internal.operations.transactions", "dyntable.expressions",
             "dyntable.client_builders"}
    assert not (loaded & later), loaded & later
    assert found["query"] == "dyntable.client_builders"  # still importable from the client


def test_models_build_their_pydantic_schema_on_first_use() -> None:
    found = _run(
        _MODEL
        + "out['declared'] = A.__pydantic_complete__\n"
        "out['loader'] = 'pydantic.plugin._loader' in sys.modules\n"
        "a = A(u='x')\n"
        "out['used'] = A.__pydantic_complete__\n"
        "from pydantic import ValidationError\n"
        "try:\n"
        "    A(u=1)\n"
        "except ValidationError:\n"
        "    out['validates'] = True\n"
    )
    assert found == {"declared": False, "loader": False, "used": True, "validates": True}


def test_a_model_can_ask_for_its_schema_at_class_creation() -> None:
    found = _run(
        "from pydantic import ConfigDict\n"
        + _MODEL.replace("    u: str\n",
                         "    model_config = ConfigDict(defer_build=False)\n    u: str\n")
        + "out['declared'] = A.__pydantic_complete__\n"
    )
    assert found == {"declared": True}


def test_build_models_reports_a_field_type_pydantic_cannot_handle() -> None:
    # Deferred schemas move pydantic's own type errors to first use; build_models() brings
    # them back to one call a test can make, naming the model.
    import pytest

    from dyntable import Key, Model, Table
    from dyntable.errors import DeclarationError

    class Opaque:
        pass

    t = Table("cold_build_models", pk="PK", sk="SK")

    class Fine(Model, table=t, entity="fine"):
        u: str
        primary = Key(pk="F#{u}", sk="F")

    class Broken(Model, table=t, entity="broken"):
        u: str
        thing: Opaque
        primary = Key(pk="B#{u}", sk="B")

    with pytest.raises(DeclarationError, match=r"model Broken \(entity 'broken'\).*Opaque"):
        t.build_models()
    assert Fine.__pydantic_complete__
