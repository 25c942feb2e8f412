"""Key templates inferred from sample items: which fields a stored key value is made of.

Used by the NoSQL Workbench import, where only facet key aliases and sample data say how
keys are built. A template is accepted only when it rebuilds the key of every item.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dyntable._internal.schema.templates import Template
from dyntable.design.values import av_type
from dyntable.errors import DeclarationError

__all__ = ["infer_template", "key_text", "segments_template"]


def key_text(av: Mapping[str, Any]) -> str | None:
    """A key part's text as a template writes it (strings and numbers only)."""
    kind = av_type(av)
    return str(av[kind]) if kind in ("S", "N") else None


def infer_template(attribute: str, items: Sequence[Mapping[str, Any]],
                   fields: Mapping[str, str]) -> str | None:
    """A template for ``attribute`` that rebuilds its value in every item from the item's
    field attributes (``fields``: attribute -> field name), or ``None``."""
    rows = [i for i in items if attribute in i]
    if not rows:
        return None
    for base in rows:
        candidate = _candidate(base, attribute, fields)
        if candidate is not None and all(_fits(candidate, r, attribute, fields) for r in rows):
            return candidate
    return None


def _candidate(item: Mapping[str, Any], attribute: str, fields: Mapping[str, str]
               ) -> str | None:
    value = key_text(item[attribute])
    if value is None:
        return None
    parts = sorted(((t, fields[a]) for a, av in item.items() if a in fields
                    and (t := key_text(av))), key=lambda p: -len(p[0]))
    spans: list[tuple[int, int, str]] = []
    for text, name in parts:
        start = value.find(text)
        while start >= 0:
            end = start + len(text)
            if _bounded(value, start, end) and \
                    not any(s < end and start < e for s, e, _ in spans) and \
                    name not in {n for _, _, n in spans}:
                spans.append((start, end, name))
                break
            start = value.find(text, start + 1)
    out, pos = [], 0
    for start, end, name in sorted(spans):
        out += [value[pos:start].replace("{", "{{").replace("}", "}}"), "{" + name + "}"]
        pos = end
    out.append(value[pos:])
    source = "".join(out)
    if "{{" in source or "}}" in source:
        return None
    try:
        Template.parse(source)
    except DeclarationError:
        return None
    return source


def _bounded(value: str, start: int, end: int) -> bool:
    """True when ``value[start:end]`` is a whole token: not inside a word or number."""
    before = start == 0 or not value[start - 1].isalnum()
    after = end == len(value) or not value[end].isalnum()
    return before and after


def _fits(source: str, item: Mapping[str, Any], attribute: str,
          fields: Mapping[str, str]) -> bool:
    template = Template.parse(source)
    by_field = {name: a for a, name in fields.items()}
    parts = {}
    for name in template.fields:
        av = item.get(by_field.get(name, ""))
        text = key_text(av) if av else None
        if text is None:
            return False
        parts[name] = text
    return "".join(_fill(template, parts)) == key_text(item[attribute])


def _fill(template: Template, parts: Mapping[str, str]) -> list[str]:
    out = [template.literals[0]]
    for i, name in enumerate(template.fields):
        out += [parts[name], template.literals[i + 1]]
    return out


def segments_template(attribute: str, items: Sequence[Mapping[str, Any]],
              by_attr: Mapping[str, str], hint: str | None
              ) -> tuple[str, list[str]] | None:
    """A template from the values split at their separators: parts equal to a field in
    every item become that field, parts equal in every item stay text, other parts become
    new fields named from ``hint`` (none allowed without a hint)."""
    texts = [(t, i) for i in items if attribute in i and (t := key_text(i[attribute]))]
    if not texts:
        return None
    split = [re.split(r"([#|~^/])", t) for t, _ in texts]
    if len({len(s) for s in split}) != 1:
        return None
    out: list[str] = []
    new: list[str] = []
    for pos in range(len(split[0])):
        column = [s[pos] for s in split]
        match = [name for attr, name in by_attr.items()
                 if all(key_text(i.get(attr) or {}) == c for c, (_, i) in zip(column, texts,
                                                                            strict=True))]
        if pos % 2 == 0 and match:
            out.append("{" + match[0] + "}")
        elif len(set(column)) == 1 and "{" not in column[0] and "}" not in column[0]:
            out.append(column[0])
        elif pos % 2 == 0 and hint is not None:
            name = f"{hint}_{len(new) + 1}" if new else hint
            new.append(name)
            out.append("{" + name + "}")
        else:
            return None
    source = "".join(out)
    try:
        Template.parse(source)
    except DeclarationError:
        return None
    return source, new
