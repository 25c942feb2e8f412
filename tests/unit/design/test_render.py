"""The HTML page is one self-contained file; the Markdown lists every access pattern."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from dyntable.design.html import render_html
from dyntable.design.markdown import render_markdown
from dyntable.design.model import build_design
from tests.models import Customer, shop
from tests.unit.design.shop import shop_design


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Collect()
    parser.feed(page)
    return parser.tags


def test_the_page_needs_no_network() -> None:
    page = render_html(shop_design())
    tags = _tags(page)
    names = {t for t, _ in tags}
    assert not names & {"link", "img", "iframe", "object", "embed", "base", "audio", "video"}
    for tag, attrs in tags:
        assert "src" not in attrs, tag  # scripts and styles are inline
        href = attrs.get("href")
        assert href is None or href.startswith("#"), href
    assert not re.search(r"url\(|@import|https?://", page)
    assert page.count("<style>") == 1 and page.count("<script>") == 1


def test_every_entity_partition_and_index_is_on_the_page() -> None:
    design = shop_design()
    tags = _tags(render_html(design))
    views = [a["data-view"] for t, a in tags if t == "div" and "data-view" in a]
    assert views == ["table", "GSI1", "GSI2", "LSI1"]
    partitions = [a["data-partition"] for t, a in tags if "data-partition" in a]
    assert "CUSTOMER#ada" in partitions and "SHIPBY" in partitions
    rows = [a["data-entity"] for t, a in tags if t == "tr" and "data-sort" in a]
    assert {"customer", "order", "order_line", "product"} <= set(rows)
    assert len(rows) == sum(len(p.rows) for i in design.indexes for p in design.view(i.name))


def test_values_are_escaped() -> None:
    evil = Customer(username="eve", email="eve@example.com", name="<script>alert(1)</script>")
    page = render_html(build_design(shop, [evil]))
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_markdown_lists_every_key_with_its_templates() -> None:
    text = render_markdown(shop_design())
    rows = [line for line in text.splitlines() if line.startswith("| order |")]
    assert len(rows) == 4
    assert "| `Order.awaiting_shipment` | GSI2 | `GSI2PK = SHIPBY` | " \
        "`GSI2SK = {ship_by}#{order_id}` | `db.query(Order.awaiting_shipment)` |" in text
    assert "- **hot-partition** (warning): Order.awaiting_shipment" in text
    header = next(line for line in text.splitlines() if line.startswith("| Entity"))
    assert header.count("|") == 7
