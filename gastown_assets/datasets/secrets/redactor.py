"""`Redactor`: the secrets of a text as spans (our passes, the plugins, extra patterns), merged;
their replacement by `[REDACTED:<kind>]`, rescanned until stable; `Removed`, what was replaced."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from .detectors import _PLUGINS, _Fired, _plugin_spans, _plugin_view, _plugins, _windows
from .patterns import _SECRET_NAME, GENERIC, REDACTED, Span
from .plausibility import _plausible
from .scanner import _PRIORITY, _TOKEN_RUN, Finding, _char_offsets, _is_redacted, _scan


class Redactor:
    """Finds secrets in text and replaces each with `[REDACTED:<kind>]`.

    `extra_patterns` maps kind -> regex (str); the pattern's named group `secret`, if it has
    one, is what is redacted, otherwise the whole match.
    """

    def __init__(self, extra_patterns: Mapping[str, str] | None = None):
        self._extra = [(kind, re.compile(rx)) for kind, rx in (extra_patterns or {}).items()]

    def _spans(self, text: str) -> list[Span]:
        b = text.encode("utf-8", "surrogatepass")
        raw: list[Span] = []
        fired = _Fired()
        _scan(b, b.lower(), raw, fired)
        if (raw or fired) and len(b) != len(text):  # not ASCII: byte offsets -> character offsets
            chars = _char_offsets(b, [p for s, e, _ in raw for p in (s, e)] + [p for ps in fired.values() for p in ps])
            raw = [(chars[s], chars[e], k) for s, e, k in raw]
            fired = {name: [chars[p] for p in ps] for name, ps in fired.items()}
        plugins = _plugins() if fired else _PLUGINS
        view = _plugin_view(text) if fired else text
        for name, positions in fired.items():
            if name in plugins:
                for lo, hi in _windows(positions, len(text)):
                    raw.extend(_plugin_spans(plugins[name], view, lo, hi))
        for kind, regex in self._extra:
            for m in regex.finditer(text):
                start, end = m.span("secret") if "secret" in regex.groupindex else m.span()
                if start < end:
                    raw.append((start, end, kind))
        if not raw:
            return raw
        # A replacement covers the whole secret: a span that stops inside a run of token
        # characters (a detector whose match ends early, at a `-` or a length limit) runs to its end.
        raw = [(s, _TOKEN_RUN.match(text, e).end(), k) for s, e, k in raw]
        raw.sort()
        merged: list[Span] = []
        for start, end, kind in raw:
            if merged and start < merged[-1][1]:
                s, e, k = merged[-1]
                if _PRIORITY.get(kind, 2) > _PRIORITY.get(k, 2):
                    k = kind
                merged[-1] = (s, max(e, end), k)
            else:
                merged.append((start, end, kind))
        return [(s, e, k) for s, e, k in merged if not _is_redacted(text, s, e)]

    def findings(self, text: str) -> list[Finding]:
        """Every secret in `text` as kind and offsets; [] when the text is clean."""
        if not text:
            return []
        return [Finding(k, s, e) for s, e, k in self._spans(text)]

    def redact(self, text: str, removed: list | None = None) -> tuple[str, Counter]:
        """`text` with every secret replaced by `[REDACTED:<kind>]`, and the count of each kind.

        Given a list, `removed` gains one `Removed` per secret replaced: its kind, its value and
        where its marker sits in the returned text. That list is the caller's to reduce (to a
        salted hash) and drop; nothing here keeps or shows it."""
        spans = self._spans(text) if text else None
        counts: Counter = Counter.__new__(Counter)  # = Counter(), without its slow __init__ (hot path)
        mine: list[Removed] = []
        for _ in range(4):  # a replacement can expose a new context: rescan until stable (idempotent)
            if not spans:
                break
            parts, last, out_at, placed = [], 0, 0, []
            for start, end, kind in spans:
                parts.append(text[last:start])
                out_at += start - last
                marker = REDACTED.format(kind=kind)
                parts.append(marker)
                placed.append((start, end, out_at, len(marker)))
                if removed is not None:
                    mine.append(Removed(kind, text[start:end], out_at))
                out_at += len(marker)
                counts[kind] += 1
                last = end
            parts.append(text[last:])
            if removed is not None and len(mine) > len(placed):  # earlier passes' markers moved
                mine[: -len(placed)] = [r._replace(at=_moved(r.at, placed)) for r in mine[: -len(placed)]]
            text = "".join(parts)
            spans = self._spans(text)
        if removed is not None:
            removed.extend(mine)
        return text, counts

    def redact_value(self, name: str, value: str, removed: list | None = None) -> tuple[str, Counter]:
        """A value stored under `name` (`{"DB_PASSWORD": "..."}`): redacted whole when the name
        says it holds a secret and the value looks like one. `removed` as for `redact`."""
        mine: list[Removed] | None = [] if removed is not None else None
        text, counts = self.redact(value, mine)
        if _SECRET_NAME.search(name) and _bare_secret(name, text):
            counts[GENERIC] += 1
            if removed is not None:
                removed.append(Removed(GENERIC, value, 0))
            return REDACTED.format(kind=GENERIC), counts
        if removed is not None:
            removed.extend(mine)
        return text, counts


@dataclass(frozen=True, slots=True)
class Removed:
    """A secret `Redactor.redact` replaced: its kind, its VALUE, and the offset of its marker in
    the redacted text (what precedes it there is its context). Reduce it to a salted hash at
    once: it must never be written, logged or shown (its repr hides the value)."""

    kind: str
    value: str = field(repr=False)
    at: int

    def _replace(self, **changes) -> Removed:
        return Removed(**{"kind": self.kind, "value": self.value, "at": self.at, **changes})


def _moved(at: int, placed: list[tuple[int, int, int, int]]) -> int:
    """Where offset `at` of a text is after the replacements `placed` ((start, end, offset and
    length of the marker in the new text), in order); inside a replaced span: at its marker."""
    shift = 0
    for start, end, out_at, size in placed:
        if at < start:
            break
        if at < end:
            return out_at
        shift = out_at + size - end
    return at + shift


def _bare_secret(name: str, value: str) -> bool:
    """A value under a secret-named key that is redacted as a whole."""
    low = name.lower()
    return not _is_redacted(value, 0, len(value)) and _plausible(
        value, "dq", words="pass" in low or "pwd" in low, name=name
    )
