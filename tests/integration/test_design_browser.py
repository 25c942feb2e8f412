"""The example shop design, rendered and checked in a real headless browser.

Debian's ``chromium`` runs the page (installed by the test setup with apt-get when missing
on CI as root, see dyntable/testing/browser.py); a probe script appended to the page reads
the grid back from the live DOM and measures every box, and the result comes back through
``--dump-dom``. The expected partitions are written out here from the sample data and the
key templates, not taken from the code that drew the page. A screenshot is saved as a test
artifact (pytest's tmp dir, and ``$DYNTABLE_TEST_ARTIFACTS`` when set);
``DYNTABLE_UPDATE_DOCS_SCREENSHOT=1`` also refreshes docs/design.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from dyntable.design.html import render_html
from dyntable.testing.browser import HeadlessChromium, MissingDependencyError, chromium_path
from tests.models import Customer, Order, OrderLine, Product
from tests.unit.design.shop import shop_design

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"

PROBE = """<script>
(function () {
  var out = {views: {}, overflow: [], fields: document.getElementById('fields').offsetTop};
  document.documentElement.classList.remove('js');  /* every view shown at once */
  document.querySelectorAll('details').forEach(function (d) { d.open = true; });
  document.querySelectorAll('.view').forEach(function (view) {
    out.views[view.dataset.view] = Array.from(view.querySelectorAll('tbody[data-partition]'))
      .map(function (body) {
        return {partition: body.dataset.partition,
                rows: Array.from(body.querySelectorAll('tr[data-entity]')).map(function (tr) {
                  return [tr.dataset.entity, tr.dataset.sort,
                          tr.querySelector('.entity').textContent.trim()];
                })};
      });
  });
  var boxes = 'main, header, nav, section, table, th, td, pre, code, .attr, .card, ' +
              '.badge, .tpl, ul.warnings li, .tabs';
  document.querySelectorAll(boxes).forEach(function (el) {
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      out.overflow.push(el.tagName + '.' + el.className + ' ' + el.scrollWidth + '>' +
                        el.clientWidth + ': ' + el.textContent.slice(0, 80));
    }
    var box = el.getBoundingClientRect();
    if (box.right > document.documentElement.clientWidth + 1) {
      out.overflow.push(el.tagName + '.' + el.className + ' ends at ' + box.right);
    }
  });
  out.page = {scrollWidth: document.documentElement.scrollWidth,
              clientWidth: document.documentElement.clientWidth,
              height: document.documentElement.scrollHeight};
  var pre = document.createElement('pre');
  pre.id = 'dyntable-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


@pytest.fixture(scope="module")
def chromium() -> HeadlessChromium:
    try:
        return HeadlessChromium(chromium_path())
    except MissingDependencyError as exc:
        pytest.skip(f"no headless browser can be had here: {exc}")


def _probe(chromium: HeadlessChromium, page: Path) -> dict[str, Any]:
    dom = chromium.dump_dom(page)
    found = re.search(r'<pre id="dyntable-probe">(.*?)</pre>', dom, re.DOTALL)
    assert found, f"the probe did not run; DOM starts {dom[:300]!r}"
    result: dict[str, Any] = json.loads(unescape(found.group(1)))
    return result


def _expected() -> dict[str, Counter[tuple[str, str]]]:
    """(partition, entity) of every sample item in each view, from the sample data and
    the key templates of tests/models.py."""
    from dyntable.design.samples import load_fixture
    from tests.models import shop
    from tests.unit.design.shop import SAMPLES

    views: dict[str, Counter[tuple[str, str]]] = {n: Counter() for n in
                                                  ("table", "GSI1", "GSI2", "LSI1")}
    for obj in load_fixture(SAMPLES, shop):
        if isinstance(obj, Customer):
            views["table"][(f"CUSTOMER#{obj.username}", "customer")] += 1
            views["GSI1"][(f"EMAIL#{obj.email}", "customer")] += 1
        elif isinstance(obj, Order):
            views["table"][(f"CUSTOMER#{obj.username}", "order")] += 1
            views["GSI1"][(f"STATUS#{obj.status}", "order")] += 1
            views["LSI1"][(f"CUSTOMER#{obj.username}", "order")] += 1
            if obj.ship_by is not None:
                views["GSI2"][("SHIPBY", "order")] += 1
        elif isinstance(obj, OrderLine):
            views["table"][(f"CUSTOMER#{obj.username}", "order_line")] += 1
        elif isinstance(obj, Product):
            views["table"][(f"PRODUCT#{obj.sku}", "product")] += 1
    return views


def test_the_shop_design_renders_in_chromium(chromium: HeadlessChromium, tmp_path: Path
                                             ) -> None:
    html = render_html(shop_design())
    page = tmp_path / "design.html"
    page.write_text(html, encoding="utf-8")
    probed = tmp_path / "design-probe.html"
    probed.write_text(html.replace("</body>", PROBE + "\n</body>"), encoding="utf-8")

    result = _probe(chromium, probed)
    got = {name: Counter((p["partition"], row[0]) for p in parts for row in p["rows"])
           for name, parts in result["views"].items()}
    assert got == _expected()
    table = {p["partition"]: p["rows"] for p in result["views"]["table"]}
    assert {row[0] for rows in table.values() for row in rows} == {
        "customer", "order", "order_line", "product"}
    for view in result["views"].values():
        for part in view:
            sort_keys = [row[1].encode() for row in part["rows"]]
            assert sort_keys == sorted(sort_keys), part  # items in sort key order
            assert all(row[0] == row[2] for row in part["rows"])  # entity shown per row
    assert [row[1] for row in table["CUSTOMER#ada"]] == [
        "CUSTOMER#ada", "LINE#o1#0001", "LINE#o2#0001",
        "ORDER#2026-11-01T09:00:00.000000Z#o1", "ORDER#2026-11-20T16:30:00.000000Z#o2"]
    assert result["overflow"] == []
    assert result["page"]["scrollWidth"] <= result["page"]["clientWidth"]

    narrow = HeadlessChromium(chromium.path, width=820, height=900)
    assert _probe(narrow, probed)["overflow"] == []

    shot = chromium.screenshot(page, tmp_path / "design.png",
                               height=min(result["page"]["height"], 6000))
    assert shot.read_bytes().startswith(PNG) and shot.stat().st_size > 20_000
    artifacts = os.environ.get("DYNTABLE_TEST_ARTIFACTS", "").strip()
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / "design.png")
    if os.environ.get("DYNTABLE_UPDATE_DOCS_SCREENSHOT", "").strip() == "1":
        chromium.screenshot(page, ROOT / "docs" / "design.png",
                            height=max(600, result["fields"] - 20))
