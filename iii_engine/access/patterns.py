"""Function-id patterns of the ``rbac`` block: exact ids, ``svc::*`` globs and ``match("...")``.

A glob has one metacharacter, ``*`` (any run of characters), and is anchored at both ends.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["Pattern", "compile_glob", "match_argument"]

_MATCH: Final = re.compile(r"""^match\((?P<q>["'])(?P<pat>.*)(?P=q)\)$""", re.DOTALL)


def match_argument(text: str) -> str | None:
    """The pattern inside ``match("pat")`` / ``match('pat')``, or None for any other text."""
    found = _MATCH.match(text.strip())
    return None if found is None else found.group("pat")


def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regex matching exactly what the glob ``pattern`` matches."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


class Pattern:
    """One grant or filter: a literal id, or a glob (from ``*`` or ``match("...")``)."""

    __slots__ = ("exact", "regex", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        inner = match_argument(text)
        pattern = text if inner is None else inner
        if "*" in pattern:
            self.exact: str | None = None
            self.regex: re.Pattern[str] | None = compile_glob(pattern)
        else:
            self.exact, self.regex = pattern, None

    def matches(self, value: str) -> bool:
        """True when ``value`` is the literal id or matches the glob."""
        if self.regex is None:
            return value == self.exact
        return self.regex.fullmatch(value) is not None

    def __repr__(self) -> str:
        return f"Pattern({self.text!r})"
