"""The design as one self-contained HTML page: inline CSS and JS, nothing fetched at view
time, readable without JS (every view is shown then).

Sections: warnings, indexes, key templates per entity and index side by side, the items
grid (NoSQL Workbench's aggregate view: partitions, items in sort key order, one entity
per row; one tab per index with only what it projects), fields, access patterns.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING

from dyntable.design.html_style import PALETTE, SCRIPT, STYLE

if TYPE_CHECKING:
    from dyntable.design.model import Design, EntityInfo, FieldInfo, IndexInfo, Partition, Row
    from dyntable.design.patterns import AccessPattern

__all__ = ["render_html"]


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def render_html(design: Design, *, title: str | None = None) -> str:
    """The HTML page of ``design``."""
    name = title or f"{design.table}: single-table design"
    page = _Page(design)
    colours = "".join(f'[data-c="{i}"]{{--entity:{c}}}\n' for i, c in enumerate(PALETTE))
    return (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(name)}</title>\n<style>\n{STYLE}{colours}</style></head>\n"
        f"<body><main>\n{page.body()}\n</main>\n<script>\n{SCRIPT}</script>\n</body></html>\n"
    )


class _Page:
    """The sections of one page; entities carry a colour index (``data-c``), so entity
    names never reach the stylesheet."""

    def __init__(self, design: Design) -> None:
        self.design = design
        self.colour = {e.entity: i % len(PALETTE) for i, e in enumerate(design.entities)}

    def body(self) -> str:
        design = self.design
        return "\n".join([
            self._header(design),
            self._warnings(design),
            self._indexes(design),
            self._templates(design),
            self._items(design),
            self._fields(design),
            self._patterns(design),
            '<footer>Made by <code>dyntable design</code> from the declarations; this page '
            "needs no network.</footer>",
        ])

    def _ent(self, entity: str | None) -> str:
        """``data-entity`` and colour attributes of an entity's element."""
        name = entity or "?"
        colour = self.colour.get(name)
        c = "" if colour is None else f' data-c="{colour}"'
        return f'data-entity="{_e(name)}"{c}'

    def _header(self, design: Design) -> str:
        table = design.index(None)
        keys = " / ".join(_e(a) for a in (*table.pk_attrs, *table.sk_attrs))
        facts = [f"keys <code>{keys}</code>", _e(design.billing_mode)]
        if design.stream:
            facts.append(f"stream {_e(design.stream)}")
        if design.ttl:
            facts.append(f"TTL <code>{_e(design.ttl)}</code>")
        facts.append(f"entity attribute <code>{_e(design.entity_attribute)}</code>"
                     if design.entity_attribute else "entities told by their keys")
        links = " ".join(f'<a href="#{s}">{t}</a>' for s, t in (
            ("warnings", "Warnings"), ("indexes", "Indexes"), ("templates", "Key templates"),
            ("items", "Items"), ("fields", "Fields"), ("patterns", "Access patterns")))
        return (f'<header><h1>Table <code>{_e(design.table)}</code></h1>'
                f'<p class="meta">{" · ".join(facts)}</p><nav>{links}</nav></header>')

    def _warnings(self, design: Design) -> str:
        if not design.warnings:
            return '<section id="warnings"><h2>Warnings</h2><p>None.</p></section>'
        rows = "".join(
            f'<li class="{_e(w.severity)}" data-kind="{_e(w.kind)}"><span class="tag">'
            f"{_e(w.kind)}</span> {_e(w.message)}</li>" for w in design.warnings)
        return f'<section id="warnings"><h2>Warnings</h2><ul class="warnings">{rows}</ul></section>'

    def _indexes(self, design: Design) -> str:
        rows = []
        for info in design.indexes:
            projection = info.projection + (f" ({', '.join(info.include)})" if info.include else "")
            rows.append(
                f"<tr><td><b>{_e(info.label)}</b></td><td>{_e(info.kind)}</td>"
                f"<td>{_attrs(info.pk_attrs)}</td><td>{_attrs(info.sk_attrs)}</td>"
                f"<td>{_e(projection)}</td><td>{self._badges(info.entities)}</td></tr>")
        return ('<section id="indexes"><h2>Table and indexes</h2><table class="plain">'
                "<thead><tr><th>Name</th><th>Type</th><th>Partition key</th><th>Sort key</th>"
                "<th>Projection</th><th>Entities</th></tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table></section>")

    def _badges(self, entities: tuple[str, ...] | list[str]) -> str:
        return " ".join(f'<span class="badge" {self._ent(e)}>{_e(e)}</span>'
                        for e in entities) or "—"

    def _template_cell(self, entity: EntityInfo, info: IndexInfo) -> str:
        key = entity.key_on(info.name)
        if key is None:
            return '<td class="none">—</td>'
        pk = " | ".join(key.pk) if info.kind != "LSI" else "(table partition)"
        sk = " | ".join(key.sk) or "—"
        return (f'<td><div class="tpl"><span class="lbl">PK</span><code>{_e(pk)}</code></div>'
                f'<div class="tpl"><span class="lbl">SK</span><code>{_e(sk)}</code></div>'
                f'<div class="keyname">{_e(entity.model)}.{_e(key.key)}</div></td>')

    def _templates(self, design: Design) -> str:
        head = "".join(f"<th>{_e(i.label)}</th>" for i in design.indexes)
        rows = "".join(
            f'<tr {self._ent(e.entity)}><th>{self._badges([e.entity])}<div class="keyname">'
            f"{_e(e.model)}</div></th>"
            + "".join(self._template_cell(e, i) for i in design.indexes) + "</tr>"
            for e in design.entities)
        return ('<section id="templates"><h2>Key templates</h2><table class="plain matrix">'
                f"<thead><tr><th>Entity</th>{head}</tr></thead><tbody>{rows}</tbody></table>"
                "</section>")

    def _row(self, row: Row, partition: Partition, first: bool) -> str:
        pk = (f'<td class="pk" rowspan="{len(partition.rows)}">{_e(partition.key)}</td>'
              if first else "")
        attrs = "".join(f'<div class="attr"><span class="name">{_e(n)}</span>'
                        f'<span class="value">{_e(v)}</span></div>' for n, v in row.attributes)
        entity = row.entity or "?"
        generated = ' class="generated"' if row.source == "generated" else ""
        return (f'<tr {self._ent(entity)} data-sort="{_e(row.sort_key)}"{generated}>{pk}'
                f'<td class="sk">{_e(row.sort_key) or "—"}</td>'
                f'<td class="entity"><span class="badge" {self._ent(entity)}>'
                f'{_e(entity)}</span></td><td class="attrs">{attrs}</td></tr>')

    def _view(self, design: Design, info: IndexInfo, active: bool) -> str:
        partitions = design.view(info.name)
        pk, sk = _attrs(info.pk_attrs), _attrs(info.sk_attrs)
        bodies = "".join(
            f'<tbody class="partition" data-partition="{_e(p.key)}">'
            + "".join(self._row(r, p, i == 0) for i, r in enumerate(p.rows)) + "</tbody>"
            for p in partitions)
        empty = "" if partitions else '<p class="empty">No sample item is in this index.</p>'
        cls = "view active" if active else "view"
        return (f'<div class="{cls}" data-view="{_e(info.label)}"><h3>{_e(info.label)}</h3>'
                f'<table class="grid"><colgroup><col class="c-pk"><col class="c-sk">'
                f'<col class="c-entity"><col></colgroup><thead><tr><th>Partition key {pk}</th>'
                f"<th>Sort key {sk}</th><th>Entity</th><th>Attributes</th></tr></thead>{bodies}"
                f"</table>{empty}</div>")

    def _items(self, design: Design) -> str:
        active = ' class="active"'
        tabs = "".join(
            f'<button type="button" data-view="{_e(i.label)}"{active if n == 0 else ""}>'
            f"{_e(i.label)}</button>" for n, i in enumerate(design.indexes))
        views = "".join(self._view(design, i, n == 0) for n, i in enumerate(design.indexes))
        counts: dict[str, int] = {}
        for sample in design.items:
            counts[sample.source] = counts.get(sample.source, 0) + 1
        sources = ", ".join(f"{n} {s}" for s, n in counts.items()) or "none"
        return (f'<section id="items"><h2>Items</h2><p class="meta">Sample items: {_e(sources)}. '
                "Generated items (stand-in values) are in italics.</p>"
                f'<div class="tabs" role="tablist">{tabs}</div>{views}</section>')

    def _fields(self, design: Design) -> str:
        cards = []
        for e in design.entities:
            rows = "".join(
                f"<tr><td><code>{_e(f.name)}</code></td><td><code>{_e(f.attribute)}</code></td>"
                f"<td>{_e(f.type)}</td><td>{_e(_notes(f))}</td></tr>" for f in e.fields)
            doc = f"<p>{_e(e.doc)}</p>" if e.doc else ""
            cards.append(
                f'<div class="card" {self._ent(e.entity)}><h3>{self._badges([e.entity])} '
                f"<code>{_e(e.module)}.{_e(e.model)}</code></h3>{doc}<table class='plain'>"
                "<colgroup><col style='width:26%'><col style='width:22%'><col style='width:32%'>"
                "<col></colgroup><thead><tr><th>Field</th><th>Attribute</th><th>Type</th>"
                f"<th>Notes</th></tr></thead><tbody>{rows}</tbody></table></div>")
        return (f'<section id="fields"><h2>Fields</h2><div class="cards">{"".join(cards)}</div>'
                "</section>")

    def _pattern(self, p: AccessPattern) -> str:
        where = p.index or "table"
        request = json.dumps(p.request, indent=2, ensure_ascii=False)
        fields = (", ".join(p.pk_fields) or "—") + \
            (f" (sort: {', '.join(p.sk_fields)})" if p.sk_fields else "")
        return (f'<tr {self._ent(p.entity)}><td>{self._badges([p.entity])}<div class="keyname">'
                f"{_e(p.model)}.{_e(p.key)}</div></td><td>{_e(where)}</td><td>{_e(fields)}</td>"
                f"<td><code>{_e(p.call)}</code><details><summary>request</summary>"
                f"<pre>{_e(request)}</pre></details></td></tr>")

    def _patterns(self, design: Design) -> str:
        rows = "".join(self._pattern(p) for p in design.access_patterns)
        return ('<section id="patterns"><h2>Access patterns</h2><table class="plain patterns">'
                '<colgroup><col style="width:18%"><col style="width:8%"><col style="width:22%">'
                "<col></colgroup>"
                "<thead><tr><th>Key</th><th>Index</th><th>Fields</th><th>Example and request</th>"
                f"</tr></thead><tbody>{rows}</tbody></table></section>")


def _attrs(names: tuple[str, ...]) -> str:
    return " + ".join(f"<code>{_e(n)}</code>" for n in names) or "—"


def _notes(f: FieldInfo) -> str:
    return ", ".join(n for n in ("required" if f.required else "", f.role) if n)
