"""``dyntable design``, ``dyntable design import-workbench``, ``dyntable export workbench``;
sample files; the loopback page server."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from dyntable.cli.main import main
from dyntable.design.samples import load_fixture, model_examples, placeholder
from dyntable.design.serve import LOOPBACK, PageServer
from dyntable.errors import InvalidRequestError
from tests.models import Customer, Order, OrderLine, Product, shop
from tests.unit.design.shop import SAMPLES

APP = "tests.models:shop"


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_design_writes_a_page_markdown_and_json(tmp_path: Path) -> None:
    page = tmp_path / "design.html"
    _run("design", "--app", APP, "--samples", str(SAMPLES), "-o", str(page))
    html = page.read_text()
    assert html.startswith("<!doctype html>") and 'data-partition="CUSTOMER#ada"' in html
    markdown = _run("design", "--app", APP, "--format", "markdown")
    assert "| customer | `Customer.primary` | table |" in markdown
    data = json.loads(_run("design", "--app", APP, "--format", "json", "--samples",
                           str(SAMPLES)))
    assert len(data["items"]) == 11 and {i["source"] for i in data["items"]} == {"given"}


def test_design_usage_errors() -> None:
    result = CliRunner().invoke(main, ["design"])
    assert result.exit_code == 2 and "Missing option '--app'" in result.output
    result = CliRunner().invoke(main, ["design", "--app", APP, "--serve", "--format", "json"])
    assert result.exit_code == 2 and "--serve shows the html format" in result.output


def test_export_workbench_then_import_it(tmp_path: Path) -> None:
    model = tmp_path / "shop.json"
    _run("export", "workbench", "--app", APP, "--samples", str(SAMPLES), "-o", str(model))
    document = json.loads(model.read_text())
    assert document["ModelName"] == "shop"
    assert [f["FacetName"] for f in document["DataModel"][0]["TableFacets"]] == [
        "customer", "order", "order_line", "product"]
    source = _run("design", "import-workbench", str(model))
    assert 'class OrderLine(Model, table=shop, entity="order_line"):' in source
    compile(source, "draft.py", "exec")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(main, ["design", "import-workbench", str(bad)])
    assert result.exit_code == 1 and "is not JSON" in result.output


def test_sample_files_json_yaml_and_raw_items(tmp_path: Path) -> None:
    loaded = load_fixture(SAMPLES, shop)
    assert [type(o).__name__ for o in loaded].count("Order") == 3
    by_class = tmp_path / "s.json"
    by_class.write_text(json.dumps({"Product": [{"sku": "A", "title": "a", "price": "1"}]}))
    (product,) = load_fixture(by_class, shop)
    assert isinstance(product, Product) and product.sku == "A"
    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps([{"PK": {"S": "PRODUCT#A"}, "SK": {"S": "PRODUCT"}}]))
    assert load_fixture(raw, shop) == [{"PK": {"S": "PRODUCT#A"}, "SK": {"S": "PRODUCT"}}]
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"warehouse": []}))
    with pytest.raises(InvalidRequestError, match="no entity 'warehouse'"):
        load_fixture(wrong, shop)


def test_stand_ins_and_examples() -> None:
    for model in (Customer, Order, OrderLine, Product):
        made = placeholder(model)
        assert isinstance(made, model)
    order = placeholder(Order)
    assert order is not None and order.ship_by is not None  # it keys the sparse GSI2
    assert model_examples(Customer) == []


def test_the_page_server_answers_on_loopback_only() -> None:
    server = PageServer("<!doctype html><p>hi</p>").start()
    try:
        assert server.httpd.server_address[0] == LOOPBACK
        with urllib.request.urlopen(server.url, timeout=5) as answer:
            assert answer.read() == b"<!doctype html><p>hi</p>"
            assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.url + "etc/passwd", timeout=5)
        missing.value.close()
        assert missing.value.code == 404
    finally:
        server.stop()


def test_design_serve_runs_until_interrupted() -> None:
    root = Path(__file__).resolve().parents[3]
    command = [sys.executable, "-c", "from dyntable.cli.main import main; main()", "design",
               "--app", APP, "--serve"]
    proc = subprocess.Popen(command, cwd=root, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        with urllib.request.urlopen(url.group(0), timeout=10) as answer:
            assert b'data-view="GSI2"' in answer.read()
        # SIGTERM, as a process manager sends: SIGINT would be ignored when this suite runs
        # as a background job (its children inherit SIGINT ignored); Ctrl-C works as well
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_importing_the_design_package_loads_nothing() -> None:
    probe = "import json, sys, dyntable.design; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout
    loaded = {m.split(".")[0] for m in json.loads(out)}
    assert not loaded & {"pydantic", "boto3", "botocore", "click", "yaml"}
    assert "dyntable.design" not in _loaded_by_dyntable()


def _loaded_by_dyntable() -> set[str]:
    probe = "import json, sys, dyntable; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout
    return set(json.loads(out))
