"""The mypy plugin ``dyntable.mypy``: key fields given as keywords are type-checked.

Each case is a small module; all of them are checked by one ``mypy --strict`` run with the
plugin on, and each test asserts the exact errors of its module as (source line, message).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[2]

HEADER = """\
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from dyntable import F
from dyntable.client import Client
from tests.models import Customer, Order, OrderLine, Product

NOW = datetime.now(timezone.utc)
"""

#: Models of the cases that need more than tests/models.py: inherited keys, a ClassVar[Key],
#: a Final template, an LSI, a native multi-attribute GSI, and keys the plugin cannot read.
OWN_MODELS = """\
from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Final

from dyntable import GSI, LSI, Key, Model, Table

TICKET_PK: Final = "TENANT#{tenant}"

crm = Table(
    "crm", pk="PK", sk="SK",
    gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK"),
          GSI("GSI3", pk=["tenant", "region"], sk=["created", "ticket_id"])],
    lsis=[LSI("LSI1", sk="LSI1SK")],
)


class Tenanted(Model):
    tenant: str
    region: str
    primary: ClassVar[Key] = Key(pk=TICKET_PK, sk="TICKET#{ticket_id}")


class Ticket(Tenanted, table=crm, entity="ticket"):
    ticket_id: str
    created: datetime
    seq: int
    by_seq = Key(index="LSI1", sk="SEQ#{seq:04d}")
    by_tenant = Key(index="GSI3")
    by_created = Key(index="GSI1", pk="DAY#{created}", sk="{seq:08d}#{ticket_id}")


def make_key(prefix: str) -> Key:
    return Key(pk=prefix + "#{name}")


class Computed(Model, table=crm, entity="computed"):
    name: str
    primary = Key(pk="C#" + "{name}")


class Made(Model, table=crm, entity="made"):
    name: str
    primary = make_key("M")
"""

E = tuple[str, str]  # (source line, message)


def unexpected(name: str, callee: str, key: str, fields: str) -> str:
    return (f'Unexpected keyword argument "{name}" for {callee}; key fields of {key}: {fields}'
            "  [call-arg]")


def missing(names: str, callee: str, key: str, fields: str) -> str:
    plural = "s" if "," in names else ""
    return (f"Missing key field{plural} {names} for {callee}; key fields of {key}: {fields}"
            "  [call-arg]")


def wrong_type(name: str, callee: str, got: str, expected: str) -> str:
    return (f'Argument "{name}" to {callee} has incompatible type "{got}"; '
            f'expected "{expected}"  [arg-type]')


CUSTOMER = "username"
ORDER = "username, placed_at, order_id"
GET, DELETE, UPDATE, QUERY = ('"get" of "Client"', '"delete" of "Client"',
                              '"update" of "Client"', '"query" of "Client"')

CASES: dict[str, tuple[str, list[E]]] = {
    "misspelt_get": ('db.get(Customer, usernme="ada")', [
        ('db.get(Customer, usernme="ada")', missing('"username"', GET, "Customer.primary",
                                                    CUSTOMER)),
        ('db.get(Customer, usernme="ada")', unexpected("usernme", GET, "Customer.primary",
                                                       CUSTOMER)),
    ]),
    "misspelt_delete": ('db.delete(Order, username="a", placed_at=NOW, order="o1")', [
        ('db.delete(Order, username="a", placed_at=NOW, order="o1")',
         missing('"order_id"', DELETE, "Order.primary", ORDER)),
        ('db.delete(Order, username="a", placed_at=NOW, order="o1")',
         unexpected("order", DELETE, "Order.primary", ORDER)),
    ]),
    "misspelt_update": ('db.update(Product, sku="p", skus="q").set(stock=1)', [
        ('db.update(Product, sku="p", skus="q").set(stock=1)',
         unexpected("skus", UPDATE, "Product.primary", "sku")),
    ]),
    "misspelt_upsert": ('db.upsert(Product, skus="q").set(stock=1)', [
        ('db.upsert(Product, skus="q").set(stock=1)',
         missing('"sku"', '"upsert" of "Client"', "Product.primary", "sku")),
        ('db.upsert(Product, skus="q").set(stock=1)',
         unexpected("skus", '"upsert" of "Client"', "Product.primary", "sku")),
    ]),
    "misspelt_query": ('db.query(Order.by_status, statu="PLACED")', [
        ('db.query(Order.by_status, statu="PLACED")',
         missing('"status"', QUERY, "Order.by_status", "status, placed_at, order_id")),
        ('db.query(Order.by_status, statu="PLACED")',
         unexpected("statu", QUERY, "Order.by_status", "status, placed_at, order_id")),
    ]),
    "misspelt_key_call": ('Order.primary(username="a", placed_at=NOW, order_id="o", id="o")', [
        ('Order.primary(username="a", placed_at=NOW, order_id="o", id="o")',
         unexpected("id", '"Order.primary"', "Order.primary", ORDER)),
    ]),
    "misspelt_in_writers": ("""\
with db.transaction() as tx:
    tx.update(Order, username="a", placed_at=NOW, orderid="o").set(note="n")
    tx.delete(Product, skew="p")
    tx.check(Customer, condition=F.order_count > 0, user="ada")
with db.batch_writer() as bw:
    bw.delete(Product, sku="p", title="t")
""", [
        ('tx.update(Order, username="a", placed_at=NOW, orderid="o").set(note="n")',
         missing('"order_id"', '"update" of "TransactionBuilder"', "Order.primary", ORDER)),
        ('tx.update(Order, username="a", placed_at=NOW, orderid="o").set(note="n")',
         unexpected("orderid", '"update" of "TransactionBuilder"', "Order.primary", ORDER)),
        ('tx.delete(Product, skew="p")',
         missing('"sku"', '"delete" of "TransactionBuilder"', "Product.primary", "sku")),
        ('tx.delete(Product, skew="p")',
         unexpected("skew", '"delete" of "TransactionBuilder"', "Product.primary", "sku")),
        ('tx.check(Customer, condition=F.order_count > 0, user="ada")',
         missing('"username"', '"check" of "TransactionBuilder"', "Customer.primary", CUSTOMER)),
        ('tx.check(Customer, condition=F.order_count > 0, user="ada")',
         unexpected("user", '"check" of "TransactionBuilder"', "Customer.primary", CUSTOMER)),
        ('bw.delete(Product, sku="p", title="t")',
         unexpected("title", '"delete" of "BatchWriter"', "Product.primary", "sku")),
    ]),
    "missing_fields": ("""\
db.get(Order, username="a", placed_at=NOW)
db.delete(Order, username="a")
Customer.primary()
db.query(Order.by_status, placed_at=NOW)
""", [
        ('db.get(Order, username="a", placed_at=NOW)',
         missing('"order_id"', GET, "Order.primary", ORDER)),
        ('db.delete(Order, username="a")',
         missing('"placed_at", "order_id"', DELETE, "Order.primary", ORDER)),
        ("Customer.primary()",
         missing('"username"', '"Customer.primary"', "Customer.primary", CUSTOMER)),
        ("db.query(Order.by_status, placed_at=NOW)",
         missing('"status"', QUERY, "Order.by_status", "status, placed_at, order_id")),
    ]),
    "wrong_types": ("""\
db.get(Customer, username=1)
db.delete(Order, username="a", placed_at="2026-01-01", order_id="o")
OrderLine.primary(username="a", order_id="o", line="1")
db.query(Order.by_status, status="LOST")
""", [
        ("db.get(Customer, username=1)", wrong_type("username", GET, "int", "str")),
        ('db.delete(Order, username="a", placed_at="2026-01-01", order_id="o")',
         wrong_type("placed_at", DELETE, "str", "datetime")),
        ('OrderLine.primary(username="a", order_id="o", line="1")',
         wrong_type("line", '"OrderLine.primary"', "str", "int")),
        ('db.query(Order.by_status, status="LOST")',
         wrong_type("status", QUERY, "Literal['LOST']",
                    "Literal['PLACED', 'SHIPPED', 'DELIVERED']")),
    ]),
    "sort_fields_from_the_left": ('db.query(Order.by_status, status="PLACED", order_id="o")', [
        ('db.query(Order.by_status, status="PLACED", order_id="o")',
         'Key field "order_id" for "query" of "Client" needs "placed_at": the sort-key fields '
         "of Order.by_status are given from the left (placed_at, order_id)  [call-arg]"),
    ]),
    "own_models": ("""\
from own_models import Ticket
db.get(Ticket, tenant="t", ticket="1")
db.query(Ticket.by_tenant, tenant="t")
db.query(Ticket.by_seq, tenant="t", seq="1")
Ticket.by_created(created=NOW, seq=1)
""", [
        ('db.get(Ticket, tenant="t", ticket="1")',
         missing('"ticket_id"', GET, "Ticket.primary", "tenant, ticket_id")),
        ('db.get(Ticket, tenant="t", ticket="1")',
         unexpected("ticket", GET, "Ticket.primary", "tenant, ticket_id")),
        ('db.query(Ticket.by_tenant, tenant="t")',
         missing('"region"', QUERY, "Ticket.by_tenant", "tenant, region, created, ticket_id")),
        ('db.query(Ticket.by_seq, tenant="t", seq="1")', wrong_type("seq", QUERY, "str", "int")),
        ("Ticket.by_created(created=NOW, seq=1)",
         missing('"ticket_id"', '"Ticket.by_created"', "Ticket.by_created",
                 "created, seq, ticket_id")),
    ]),
    "async_client": ("""\
from dyntable.async_client import AsyncClient


async def on_async(adb: AsyncClient) -> None:
    await adb.get(Customer, usernme="ada")
    adb.query(Order.by_status, status="PLACED", placed=NOW)
    await adb.delete(Product, sku="p")
""", [
        ('await adb.get(Customer, usernme="ada")',
         missing('"username"', '"get" of "AsyncClient"', "Customer.primary", CUSTOMER)),
        ('await adb.get(Customer, usernme="ada")',
         unexpected("usernme", '"get" of "AsyncClient"', "Customer.primary", CUSTOMER)),
        ('adb.query(Order.by_status, status="PLACED", placed=NOW)',
         unexpected("placed", '"query" of "AsyncClient"', "Order.by_status",
                    "status, placed_at, order_id")),
    ]),
    "correct_calls": ("""\
from own_models import Ticket


def more(db: Client, model: type[Ticket], key: dict[str, Any], o: Order) -> None:
    db.get(model, tenant="t", ticket_id="1")
    db.get(Ticket, **key)
    db.delete(o, return_old=True)
    db.update(o).set(note="n")


db.get(Customer, username="ada")
db.get(Customer, consistent=True, project=["name"], username="ada")
db.get(Customer.primary(username="ada"), consistent=True)
db.delete(Order, username="a", placed_at=NOW, order_id="o", return_old=True)
db.delete(Order, condition=F.status == "PLACED", username="a", placed_at=NOW, order_id="o")
db.update(Product, sku="p").add(stock=1)
db.query(Order.primary, username="ada")
db.query(Order.primary, username="ada", placed_at=NOW)
db.query(Order.by_status, status="PLACED")
db.query(Order.awaiting_shipment)
db.query(Order.by_total, username="ada")
db.collection(Customer.primary, username="ada")
db.collection(pk="CUSTOMER#ada")
OrderLine.primary(username="a", order_id="o", line=1)
db.get(Ticket, tenant="t", ticket_id="1")
db.query(Ticket.by_seq, tenant="t", seq=3)
db.query(Ticket.by_tenant, tenant="t", region="eu")
db.query(Ticket.by_tenant, tenant="t", region="eu", created=NOW)
db.query(Ticket.by_created, created=NOW)
Ticket.by_tenant(tenant="t", region="eu", created=NOW, ticket_id="1")
with db.transaction() as tx:
    tx.update(Order, username="a", placed_at=NOW, order_id="o").set(note="n")
    tx.delete(Product, sku="p")
    tx.check(Customer, condition=F.order_count > 0, username="ada")
with db.batch_writer() as bw:
    bw.delete(Product, sku="p")
""", []),
    "unreadable_keys_are_unchecked": ("""\
from own_models import Computed, Made
db.get(Computed, nme="x")
db.get(Made, nme="x")
""", []),
}


def _snippet(body: str) -> str:
    """The case as a module: its imports, then its other lines in ``check(db)``."""
    lines = body.splitlines()
    imports = "".join(f"{line}\n" for line in lines if line.startswith("from "))
    code = "\n".join(f"    {line}" if line else "" for line in lines
                     if not line.startswith("from "))
    return f"{HEADER}{imports}\n\ndef check(db: Client) -> None:\n{code}\n"


def _run_mypy(directory: Path, files: list[Path], *, cache: Path,
              plugins: str = "dyntable.mypy") -> str:
    config = directory / "mypy.ini"
    config.write_text(f"[mypy]\nplugins = {plugins}\nmypy_path = {directory}:{ROOT}\n"
                      f"cache_dir = {cache}\n", encoding="utf-8")
    stdout, stderr, _ = api.run(["--strict", "--config-file", str(config),
                                 "--no-error-summary", "--hide-error-context",
                                 *map(str, files)])
    assert not stderr, stderr
    return stdout


def _errors(stdout: str, files: list[Path]) -> dict[str, list[E]]:
    """file stem -> [(stripped source line, "message  [code]")] in the order reported."""
    sources = {f.name: f.read_text(encoding="utf-8").splitlines() for f in files}
    found: dict[str, list[E]] = defaultdict(list)
    for m in re.finditer(r"^(?:.*/)?([^/:]+\.py):(\d+): error: (.*)$", stdout, re.MULTILINE):
        name, line, message = m.group(1), int(m.group(2)), m.group(3)
        found[name.removesuffix(".py")].append((sources[name][line - 1].strip(), message))
    return found


#: A key keyword with an item already named (an ItemKey, an instance) is refused by mypy
#: itself: the plugin takes ``**key`` away. Its wording follows the method's overloads, so only
#: the lines and the subject are asserted.
ITEM_CASE = """\
db.get(Customer.primary(username="ada"), username="ada")
db.delete(Customer(username="a", email="e", name="n"), username="a")
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for the runs with the plugin: dyntable is analysed once."""
    return tmp_path_factory.mktemp("mypy_cache")


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> dict[str, list[E]]:
    """One mypy run over every case."""
    directory = tmp_path_factory.mktemp("mypy_plugin")
    (directory / "own_models.py").write_text(OWN_MODELS, encoding="utf-8")
    files = [directory / "own_models.py"]
    for name, body in {**{n: b for n, (b, _) in CASES.items()}, "item": ITEM_CASE}.items():
        path = directory / f"case_{name}.py"
        path.write_text(_snippet(body), encoding="utf-8")
        files.append(path)
    return _errors(_run_mypy(directory, files, cache=cache), files)


@pytest.mark.parametrize("name", sorted(CASES))
def test_key_keywords_are_checked(reported: dict[str, list[E]], name: str) -> None:
    assert reported.get(f"case_{name}", []) == CASES[name][1]


def test_the_models_module_itself_is_clean(reported: dict[str, list[E]]) -> None:
    assert reported.get("own_models", []) == []


def test_no_key_keywords_with_an_item_or_an_item_key(reported: dict[str, list[E]]) -> None:
    errors = reported["case_item"]
    assert {src for src, _ in errors} == set(ITEM_CASE.splitlines())
    assert all('Unexpected keyword argument "username"' in msg or "No overload" in msg
               for _, msg in errors), errors


def test_without_the_plugin_key_keywords_are_not_checked(tmp_path: Path) -> None:
    path = tmp_path / "case_unchecked.py"
    path.write_text(_snippet('db.get(Customer, usernme="ada")'), encoding="utf-8")
    assert _run_mypy(tmp_path, [path], cache=tmp_path / "cache", plugins="") == ""


def test_works_beside_the_pydantic_plugin(tmp_path: Path) -> None:
    # mypy gives a class hook to the first plugin that asks for it: pydantic's takes the
    # base-class hook of every BaseModel subclass, so dyntable's plugin must not need it.
    path = tmp_path / "case_misspelt_get.py"
    path.write_text(_snippet(CASES["misspelt_get"][0]), encoding="utf-8")
    stdout = _run_mypy(tmp_path, [path], cache=tmp_path / "cache",
                       plugins="pydantic.mypy, dyntable.mypy")
    assert _errors(stdout, [path])["case_misspelt_get"] == CASES["misspelt_get"][1]


def test_keys_are_read_back_from_the_mypy_cache(tmp_path: Path, cache: Path) -> None:
    # The table, the models and the calls live in three modules. The second run edits the
    # models only, so the table module comes from mypy's cache; the third edits the calls
    # only, so the models come from the cache. Every run reports the same errors.
    (tmp_path / "tables.py").write_text(
        "from dyntable import GSI, Table\n\n"
        'crm = Table("crm", pk="PK", sk="SK", gsis=[GSI("GSI3", pk=["tenant", "region"])])\n',
        encoding="utf-8")
    models = tmp_path / "models.py"
    models.write_text(
        "from dyntable import Key, Model\nfrom tables import crm\n\n\n"
        'class Ticket(Model, table=crm, entity="ticket"):\n'
        "    tenant: str\n    region: str\n    ticket_id: str\n"
        '    primary = Key(pk="T#{tenant}", sk="{ticket_id}")\n'
        '    by_tenant = Key(index="GSI3")\n', encoding="utf-8")
    calls = tmp_path / "calls.py"
    calls.write_text(_snippet('from models import Ticket\ndb.get(Ticket, tenant="t", id="1")\n'
                              'db.query(Ticket.by_tenant, tenant="t")'), encoding="utf-8")
    runs = []
    for edited in (None, models, calls):
        if edited is not None:
            with edited.open("a", encoding="utf-8") as f:
                f.write("# edited\n")
        runs.append(_errors(_run_mypy(tmp_path, [calls], cache=cache), [calls]))
    expected = [
        ('db.get(Ticket, tenant="t", id="1")',
         missing('"ticket_id"', GET, "Ticket.primary", "tenant, ticket_id")),
        ('db.get(Ticket, tenant="t", id="1")',
         unexpected("id", GET, "Ticket.primary", "tenant, ticket_id")),
        ('db.query(Ticket.by_tenant, tenant="t")',
         missing('"region"', QUERY, "Ticket.by_tenant", "tenant, region")),
    ]
    assert [run["calls"] for run in runs] == [expected] * 3
