"""Gas Town role of a session, from the cwd its records carry."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class RoleRule:
    role: str
    cwd_patterns: tuple[str, ...]  # regexes, re.search-ed against the cwd with "/" separators


def tag_role(cwd: str, rules: Sequence[RoleRule]) -> str | None:
    """The role whose match starts earliest in the cwd: the outermost Gas Town marker wins
    (a polecat's clone may itself hold a `mayor/` folder). Ties go to the earlier rule."""
    path = cwd.replace("\\", "/")
    best: tuple[int, int] | None = None
    for index, rule in enumerate(rules):
        for pattern in rule.cwd_patterns:
            match = _compiled(pattern).search(path)
            if match and (best is None or (match.start(), index) < best):
                best = (match.start(), index)
    return None if best is None else rules[best[1]].role


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)
