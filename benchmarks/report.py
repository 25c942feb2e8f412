"""Turn the measured sections into ``docs/benchmarks.md`` (a mkdocs page) and a PNG chart.

The page shows commands in ``bash`` blocks only: the docs test runner executes every
``python`` block of the docs.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from benchmarks.common import RAW, Section
from benchmarks.contenders import AIODYNAMO, DYN_ASYNC, DYN_BOTO3, DYN_HTTP
from benchmarks.latency import RAW_GUARDED

__all__ = ["Target", "machine", "targets", "write_chart", "write_markdown"]

FINDINGS = Path(__file__).with_name("findings.md")
#: How much the scan's peak may grow from the small to the large table ("independent").
GROWTH_MIB = 1.0
PACKAGES = ("dyntable", "boto3", "botocore", "pydantic", "pydantic-core", "pynamodb", "pydynox",
            "aiodynamo", "httpx")


@dataclass
class Target:
    """One goal from the benchmark brief, with what was measured."""

    goal: str
    measured: str
    met: bool | None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine(extra: dict[str, str]) -> dict[str, str]:
    """A description of the machine and the library versions."""
    versions = []
    for pkg in PACKAGES:
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{pkg} (not installed)")
    return {
        "CPU": f"{_cpu_model()}, {os.cpu_count()} logical cores",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "Libraries": ", ".join(versions),
        **extra,
    }


def _ratio(section: Section | None, name: str) -> float | None:
    return section.ratio(name) if section is not None else None


def _fmt(x: float | None, spec: str = ".2f", suffix: str = "x") -> str:
    return "n/a" if x is None else f"{x:{spec}}{suffix}"


def _max_ratio(by_key: dict[str, Section], name: str) -> float | None:
    ratios = [_ratio(by_key.get(k), name) for k in ("put", "get", "query")]
    known = [r for r in ratios if r is not None]
    return max(known) if len(known) == 3 else None


def _latency_targets(by_key: dict[str, Section]) -> list[Target]:
    out = []
    for name, limit, goal in ((DYN_BOTO3, 1.05, "boto3 transport: get, put, query <= 1.05x"),
                              (DYN_HTTP, 0.5, "HTTP transport: get, put, query <= 0.5x")):
        worst = _max_ratio(by_key, name)
        parts = ", ".join(f"{k} {_fmt(_ratio(by_key.get(k), name))}"
                          for k in ("put", "get", "query"))
        if name == DYN_BOTO3:
            put = by_key.get("put")
            same = put.ratio(DYN_BOTO3, RAW_GUARDED) if put is not None else None
            parts += f" (put {_fmt(same)} raw boto3 sending the same guarded request)"
        out.append(Target(goal + " raw boto3", parts, None if worst is None else worst <= limit))
    return out


def _codec_target(codec: Section | None) -> Target:
    ratio = _ratio(codec, "dyntable")
    pyn = _ratio(codec, "PynamoDB")
    faster = pyn / ratio if pyn and ratio else None
    met = None if ratio is None else ratio <= 1.4
    return Target("codec: encode+decode <= 1.4x raw dicts",
                  f"{_fmt(ratio)} raw; {_fmt(faster)} faster than PynamoDB", met)


def _bulk_time(bulk: Section, name: str) -> float | None:
    """Time taken as a ratio to raw boto3's (the inverse of the throughput ratio)."""
    ratio = bulk.ratio(name)
    return 1.0 / ratio if ratio else None


def _bulk_targets(bulk: Section | None) -> list[Target]:
    """Issue 16: <= 0.40x the time of sequential raw batch_write_item with concurrency,
    <= 0.75x sequential (concurrency=1)."""
    out = []
    for goal, limit, sequential in (
        ("bulk write, best concurrent variant: <= 0.40x the time of "
         "sequential raw batch_write_item", 0.40, False),
        ("bulk write, sequential (concurrency=1): <= 0.75x the time of sequential raw "
         "batch_write_item", 0.75, True),
    ):
        found = [] if bulk is None else [
            (s.name, _bulk_time(bulk, s.name)) for s in bulk.stats
            if s.name.startswith("dyntable")
            and s.name.endswith("concurrency=1") == sequential]
        known = [(n, t) for n, t in found if t is not None]
        best = min(known, key=lambda p: p[1]) if known else None
        measured = "n/a" if best is None else f"{_fmt(best[1])} ({best[0]})"
        others = [f"{n} {_fmt(t)}" for n, t in known if best is not None and n != best[0]]
        if others:
            measured += "; " + ", ".join(others)
        if bulk is not None and bulk.get("stdlib reference") is not None:
            measured += f"; stdlib reference {_fmt(_bulk_time(bulk, 'stdlib reference'))}"
        out.append(Target(goal, measured, None if best is None else best[1] <= limit))
    return out


def _query_target(query: Section | None) -> Target:
    ratio = _ratio(query, DYN_HTTP)
    std = _ratio(query, "stdlib reference")
    return Target("1,000-item query to typed objects (default HTTP transport): <= 0.38x raw "
                  "boto3", f"{_fmt(ratio)}; stdlib reference {_fmt(std)}",
                  None if ratio is None else ratio <= 0.38)


def _list_target(listed: Section | None) -> Target:
    parts = [f"{name} {_fmt(_ratio(listed, name))}" for name in (DYN_HTTP, DYN_BOTO3)]
    worst = [r for r in (_ratio(listed, DYN_HTTP), _ratio(listed, DYN_BOTO3)) if r is not None]
    for name in (AIODYNAMO, "stdlib reference"):
        ratio = _ratio(listed, name)
        if ratio is not None:
            parts.append(f"{name.split(' (')[0]} {_fmt(ratio)}")
    return Target("whole scan kept in a list: peak RSS growth <= 1.10x raw boto3 "
                  "(slotted dataclass rows)", ", ".join(parts),
                  max(worst) <= 1.10 if worst else None)


def _memory_target(mem: Section | None) -> Target:
    raw = mem.get(RAW) if mem else None
    dyn = mem.get(DYN_BOTO3) if mem else None
    if raw is None or dyn is None:
        return Target("scan: peak memory <= raw boto3 streaming", "n/a", None)
    # The note starts with the peak at the small table size ("24.5 MiB at 5,000 items ...").
    small = float(dyn.note.split(" MiB", 1)[0]) if " MiB" in dyn.note else None
    flat = small is not None and dyn.median - small <= GROWTH_MIB
    return Target("scan: peak memory <= raw boto3 streaming, independent of table size "
                  f"(grows <= {GROWTH_MIB:g} MiB)",
                  f"{dyn.median:.1f} MiB vs raw {raw.median:.1f} MiB; {dyn.note}",
                  dyn.median <= raw.median * 1.02 and flat)


def _async_targets(by_key: dict[str, Section]) -> list[Target]:
    """The async client against aiodynamo: time at or below on put/get/query, and
    throughput at or above on the bulk write (both "at or below aiodynamo's time")."""
    ratios = {k: (by_key[f"async_{k}"].ratio(DYN_ASYNC, AIODYNAMO)
                  if f"async_{k}" in by_key else None) for k in ("put", "get", "query")}
    known = [r for r in ratios.values() if r is not None]
    latency = Target(
        "async client: put, get, query time <= aiodynamo's (same run)",
        ", ".join(f"{k} {_fmt(r)}" for k, r in ratios.items()) + " aiodynamo",
        max(known) <= 1.0 if len(known) == 3 else None)
    bulk_section = by_key.get("async_bulk")
    bulk = bulk_section.ratio(DYN_ASYNC, AIODYNAMO) if bulk_section else None
    throughput = Target(
        "async client: bulk write (4 concurrent) throughput >= aiodynamo's (same run)",
        f"{_fmt(bulk)} aiodynamo's items/s", None if bulk is None else bulk >= 1.0)
    return [latency, throughput]


def _import_targets(imp: Section | None) -> list[Target]:
    full = imp.get("import boto3, pydantic, dyntable + Model/Table/Key") if imp else None
    out = []
    for base_name in ("import boto3, pydantic", "import boto3; from pydantic import BaseModel"):
        goal = f"`import dyntable` (+ Model/Table/Key) adds < 30 ms over `{base_name}`"
        base = imp.get(base_name) if imp else None
        if base is None or full is None:
            out.append(Target(goal, "n/a", None))
            continue
        added = full.median - base.median
        out.append(Target(goal, f"{added:+.0f} ms", added < 30))
    return out


def _cold_start_targets(cold: Section | None) -> list[Target]:
    """Import + connect over a bare interpreter (fresh processes), ratio to raw boto3."""
    out = []
    for name, goal, limit in (
        ("dyntable (http)", "cold start: import + connect, no model", 0.25),
        ("dyntable (http), three models",
         "cold start: import + three models + connect", 0.45),
    ):
        text = f"{goal}, over a bare interpreter: <= {limit:.2f}x raw boto3"
        ratio = cold.ratio(name) if cold is not None and cold.get(name) is not None else None
        out.append(Target(text, _fmt(ratio), None if ratio is None else ratio <= limit))
    return out


def targets(sections: list[Section]) -> list[Target]:
    """Every goal of the brief, evaluated on this run."""
    by_key = {s.key: s for s in sections}
    return [
        _codec_target(by_key.get("codec")),
        *_latency_targets(by_key),
        *_bulk_targets(by_key.get("bulk")),
        _query_target(by_key.get("query")),
        _memory_target(by_key.get("scan_memory")),
        _list_target(by_key.get("scan_list")),
        *_async_targets(by_key),
        *_import_targets(by_key.get("import")),
        *_cold_start_targets(by_key.get("cold_start")),
    ]


def _value(x: float, unit: str) -> str:
    if unit == "items/s":
        return f"{x:,.0f}"
    return f"{x:,.1f}" if x >= 100 else f"{x:.2f}"


def _section_md(section: Section) -> list[str]:
    has_p95 = any(s.p95 is not None for s in section.stats)
    has_note = any(s.note for s in section.stats)
    head = ["contender", f"median ({section.unit})"]
    if has_p95:
        head.append(f"p95 ({section.unit})")
    if section.get(RAW) is not None:
        head.append("ratio to raw boto3")
    if section.get(AIODYNAMO) is not None:
        head.append("ratio to aiodynamo")
    if has_note:
        head.append("note")
    lines = [f"### {section.title}", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for s in section.stats:
        cells = [s.name, _value(s.median, section.unit)]
        if has_p95:
            cells.append(_value(s.p95, section.unit) if s.p95 is not None else "")
        if section.get(RAW) is not None:
            cells.append(_fmt(section.ratio(s.name)))
        if section.get(AIODYNAMO) is not None:
            cells.append(_fmt(section.ratio(s.name, AIODYNAMO)))
        if has_note:
            cells.append(s.note)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.extend(f"{n}" for n in section.notes)
    lines.append("")
    return lines


def write_markdown(path: Path, sections: list[Section], info: dict[str, str], command: str,
                   skipped: dict[str, str], chart: str | None) -> None:
    """Write the benchmark page."""
    lines = [
        "# Benchmarks",
        "",
        "dyntable measured against a raw boto3 client with hand-built AttributeValues, the boto3",
        "resource layer, PynamoDB, pydynox, aiodynamo and a hand-written stdlib reference client",
        "(`http.client` + SigV4, `benchmarks/stdlib_client.py`), on DynamoDB Local, in one",
        "interleaved run. Ratios are to raw boto3 (and, in the async sections, also to aiodynamo)",
        "in the same run: below 1 is faster, except for throughput (items/s), where above 1 is",
        "faster.",
        "This page is generated; re-create it with:",
        "",
        "```bash",
        command,
        "```",
        "",
        "## Machine",
        "",
        *[f"- **{k}**: {v}" for k, v in info.items()],
        "",
        "## Targets",
        "",
        "| goal | measured | met |",
        "|---|---|---|",
    ]
    for t in targets(sections):
        mark = "n/a" if t.met is None else ("yes" if t.met else "**no**")
        lines.append(f"| {t.goal} | {t.measured} | {mark} |")
    lines.append("")
    if chart:
        lines += [f"![Ratios to raw boto3]({chart})", ""]
    if skipped:
        lines += ["Not measured in this run:", ""]
        lines += [f"- {name}: {why}" for name, why in skipped.items()]
        lines.append("")
    lines += ["## Results", ""]
    for section in sections:
        lines += _section_md(section)
    if FINDINGS.exists():
        lines += [FINDINGS.read_text(encoding="utf-8").rstrip(), ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_chart(path: Path, sections: list[Section]) -> bool:
    """Draw one panel of ratios to raw boto3 per section; ``False`` without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = [s for s in sections if s.get(RAW) is not None]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 1.2 + 0.42 * sum(
        len(s.stats) for s in panels)), squeeze=False)
    for ax, section in zip(axes[:, 0], panels, strict=True):
        names = [s.name for s in section.stats]
        ratios = [section.ratio(n) or 0.0 for n in names]
        colors = ["#1f77b4" if n.startswith("dyntable") else "#9a9a9a" for n in names]
        ax.barh(names, ratios, color=colors)
        ax.axvline(1.0, color="black", linewidth=0.8)
        better = "higher is better" if section.higher_is_better else "lower is better"
        ax.set_title(f"{section.title} — x raw boto3 ({better})", fontsize=9, loc="left")
        ax.invert_yaxis()
        ax.tick_params(labelsize=8)
        for y, r in enumerate(ratios):
            ax.text(r, y, f" {r:.2f}", va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
