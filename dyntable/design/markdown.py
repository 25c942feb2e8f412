"""The design as Markdown, for docs and pull requests: indexes, the access-pattern table
(every declared key, its templates and an example call) and the warnings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dyntable.design.model import Design

__all__ = ["render_markdown"]


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{_cell(text)}`" if text else ""


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(head), _row(["---"] * len(head)), *(_row(r) for r in rows)]


def _key(attrs: tuple[str, ...], templates: tuple[str, ...]) -> str:
    return "<br>".join(_code(f"{a} = {t}") for a, t in zip(attrs, templates, strict=False))


def render_markdown(design: Design) -> str:
    """Markdown text of ``design`` (GitHub-flavoured tables)."""
    lines = [f"# Table `{design.table}`", ""]
    lines += _table(
        ["Index", "Type", "Partition key", "Sort key", "Projection", "Entities"],
        [[i.label, i.kind, _code(", ".join(i.pk_attrs)), _code(", ".join(i.sk_attrs)),
          i.projection + (f" ({_cell(', '.join(i.include))})" if i.include else ""),
          ", ".join(i.entities)] for i in design.indexes])
    lines += ["", "## Access patterns", ""]
    rows = []
    for p in design.access_patterns:
        key = next(k for k in design.entity(p.entity).keys if k.key == p.key)
        pk_attrs, sk_attrs = key.pk_attrs, key.sk_attrs
        rows.append([p.entity, _code(f"{p.model}.{p.key}"), p.index or "table",
                     _key(pk_attrs, p.pk_templates), _key(sk_attrs, p.sk_templates),
                     _code(p.call)])
    lines += _table(["Entity", "Key", "Index", "Partition key", "Sort key", "Example"], rows)
    lines += ["", "## Warnings", ""]
    lines += [f"- **{w.kind}** ({w.severity}): {w.message}" for w in design.warnings] or \
        ["None."]
    return "\n".join(lines) + "\n"
