"""Key templates such as ``"ORDER#{placed_at}#{order_id}"``: parsing, formatting, prefixes.

Templates work on strings only; turning field values into key strings is the codec's job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from dyntable.errors import DeclarationError, KeyTemplateError

__all__ = ["Template"]

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")


@dataclass(frozen=True)
class Template:
    """A parsed key template.

    ``literals`` has one more entry than ``fields``: the text before, between and after
    the fields. ``specs`` holds each field's format spec (``{n:08d}`` -> ``"08d"``).
    """

    source: str
    literals: tuple[str, ...]
    fields: tuple[str, ...]
    specs: tuple[str, ...]

    @cached_property
    def separators(self) -> str:
        """The separator characters of the template: every character of its literal text
        that is not a letter or digit (``"#"`` for ``"ORDER#{day}#{id}"``). No field value
        may contain one, so a key of this template can never be read as another key of
        this template or of another template built the same way."""
        seen = dict.fromkeys(c for lit in self.literals for c in lit if not c.isalnum())
        return "".join(seen)

    @classmethod
    def parse(cls, source: str) -> Template:
        """Parse ``source``; raise DeclarationError on a malformed template."""
        if not isinstance(source, str):
            raise DeclarationError(f"key template must be a string, not {type(source).__name__}")
        literals: list[str] = []
        fields: list[str] = []
        specs: list[str] = []
        pos = 0
        for m in _FIELD.finditer(source):
            literals.append(source[pos : m.start()])
            fields.append(m.group(1))
            specs.append(m.group(2) or "")
            pos = m.end()
        literals.append(source[pos:])
        for lit in literals:
            if "{" in lit or "}" in lit:
                raise DeclarationError(f"malformed key template {source!r}: stray brace")
        if len(set(fields)) != len(fields):
            raise DeclarationError(f"key template {source!r} names a field twice")
        for i in range(1, len(fields)):
            if literals[i] == "":
                raise DeclarationError(
                    f"key template {source!r}: fields {{{fields[i - 1]}}} and {{{fields[i]}}} "
                    "need a separator between them"
                )
        if not fields and not source:
            raise DeclarationError("empty key template")
        return cls(source, tuple(literals), tuple(fields), tuple(specs))

    @property
    def is_constant(self) -> bool:
        """True when the template has no fields (a fixed value such as ``"METADATA"``)."""
        return not self.fields

    @property
    def is_single_field(self) -> bool:
        """True for ``"{field}"``: the key is the field's value with nothing around it."""
        return len(self.fields) == 1 and self.literals == ("", "")

    def separator_after(self, index: int) -> str:
        """The literal that follows field ``index`` (empty for a trailing field)."""
        return self.literals[index + 1]

    def check_part(self, index: int, text: str) -> None:
        """Refuse a field value that is empty or contains a separator of the template.

        Every field is checked, the last one too: ``"USER#{user_id}"`` with
        ``user_id="u1#ROLE#admin"`` would otherwise address another entity's item keyed
        ``"USER#{user_id}#ROLE#{role}"``.
        """
        name = self.fields[index]
        if text == "":
            raise KeyTemplateError(f"key field {name!r} is empty in template {self.source!r}")
        for sep in self.separators:
            if sep in text:
                raise KeyTemplateError(
                    f"value of key field {name!r} contains {sep!r}, a separator of key "
                    f"template {self.source!r}: {text!r} could address another item's key. "
                    "Key values may not contain the template's separators; use a value "
                    "without it, or declare the template with a separator the values never "
                    "contain"
                )
        literal = self.literals[index + 1]
        # The value must not contain the literal that follows it, nor end with a part of
        # it: the first occurrence of that literal after the value must be the template's.
        if literal and index + 1 < len(self.fields) and (
                (text + literal).find(literal) != len(text)):
            raise KeyTemplateError(
                f"value of key field {name!r} contains the separator {literal!r} of template "
                f"{self.source!r}: {text!r} would make the key ambiguous"
            )

    def format(self, parts: Mapping[str, str]) -> str:
        """Fill the template with already-formatted field strings (checked)."""
        out = [self.literals[0]]
        for i, name in enumerate(self.fields):
            try:
                text = parts[name]
            except KeyError:
                raise KeyTemplateError(
                    f"key field {name!r} is required by template {self.source!r}"
                ) from None
            self.check_part(i, text)
            out.append(text)
            out.append(self.literals[i + 1])
        return "".join(out)

    def prefix(self, parts: Mapping[str, str], *, partial_last: bool = False) -> str:
        """The key prefix made of the leading fields present in ``parts``, in template order.

        With ``partial_last`` the last given value is a raw prefix of its field (no
        separator after it); otherwise the separator after the last given field is added,
        so ``"ORDER#{day}#{id}"`` with ``day`` gives ``"ORDER#2026-11-26#"``.
        """
        out = [self.literals[0]]
        given = 0
        for i, name in enumerate(self.fields):
            if name not in parts:
                break
            given += 1
            text = parts[name]
            last = not any(f in parts for f in self.fields[i + 1 :])
            if not (partial_last and last):
                self.check_part(i, text)
            out.append(text)
            if not (partial_last and last):
                out.append(self.literals[i + 1])
        extra = set(parts) - set(self.fields[:given])
        if extra:
            missing = self.fields[given] if given < len(self.fields) else "?"
            raise KeyTemplateError(
                f"template {self.source!r}: fields must be given from the left; "
                f"{sorted(extra)} given without {missing!r}"
            )
        return "".join(out)

    def parse_value(self, value: str) -> dict[str, str] | None:
        """Split a stored key back into field strings; ``None`` when it does not match."""
        if not value.startswith(self.literals[0]):
            return None
        pos = len(self.literals[0])
        parts: dict[str, str] = {}
        n = len(self.fields)
        for i, name in enumerate(self.fields):
            sep = self.literals[i + 1]
            if i == n - 1:
                if sep:
                    if not value.endswith(sep) or len(value) - len(sep) < pos:
                        return None
                    end = len(value) - len(sep)
                else:
                    end = len(value)
                parts[name] = value[pos:end]
                pos = len(value)
            else:
                end = value.find(sep, pos)
                if end < 0:
                    return None
                parts[name] = value[pos:end]
                pos = end + len(sep)
        if not self.fields and value != self.literals[0]:
            return None
        return parts

    def __str__(self) -> str:
        return self.source
