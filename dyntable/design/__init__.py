"""See a single-table design: an HTML design view, Markdown access patterns, and NoSQL
Workbench export and import.

- :func:`build_design` turns a table declaration (and sample items) into plain data:
  indexes, entities and their key templates per index, items per partition, access
  patterns (each declared key, an example query and the request it compiles to) and
  warnings.
- :func:`render_html` (one self-contained page), :func:`render_markdown`,
  :func:`to_workbench` (a NoSQL Workbench data model) render it;
  :func:`workbench_to_source` reads a Workbench model into draft declarations.

The command line is ``dyntable design`` and ``dyntable export workbench``. Nothing here is
imported by the client path; names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dyntable._lazy import lazy_exports

if TYPE_CHECKING:
    from dyntable.design.checks import Finding
    from dyntable.design.html import render_html
    from dyntable.design.markdown import render_markdown
    from dyntable.design.model import Design, build_design
    from dyntable.design.patterns import AccessPattern
    from dyntable.design.samples import load_fixture, model_examples, scan_sample
    from dyntable.design.workbench import to_workbench
    from dyntable.design.workbench_import import workbench_to_source

__all__ = [
    "AccessPattern",
    "Design",
    "Finding",
    "build_design",
    "load_fixture",
    "model_examples",
    "render_html",
    "render_markdown",
    "scan_sample",
    "to_workbench",
    "workbench_to_source",
]

_LAZY = {
    "AccessPattern": ".patterns",
    "Design": ".model",
    "Finding": ".checks",
    "build_design": ".model",
    "load_fixture": ".samples",
    "model_examples": ".samples",
    "render_html": ".html",
    "render_markdown": ".markdown",
    "scan_sample": ".samples",
    "to_workbench": ".workbench",
    "workbench_to_source": ".workbench_import",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
