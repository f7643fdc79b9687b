"""Streaming, never-raising JSONL decoding for Claude Code transcripts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from os import PathLike

import orjson

from .stats import ParseStats

# NUL padding is what a crash mid-write leaves behind; treat it like whitespace.
_PAD = b" \t\r\n\x00"
_GAP = re.compile(r"[ \t\r\n\x00]*")
_DECODER = json.JSONDecoder()
# Records nested deeper are dropped ("too_deep"; real ones are ~10 deep): orjson writes at most
# 254 levels, a Session nests a tool call's input two levels deeper than its record did, and the
# reader's helpers recurse.
MAX_DEPTH = 200
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1  # the integers orjson writes


def iter_records(path: str | PathLike, stats: ParseStats) -> Iterator[dict]:
    """Yield every JSON object in the file, one line at a time, counting what is dropped."""
    stats.files += 1
    with open(path, "rb") as fh:
        for raw in fh:  # binary line iteration: memory stays O(longest line)
            stats.lines += 1
            stats.bytes += len(raw)
            yield from _decode_line(raw, stats)


def _decode_line(raw: bytes, stats: ParseStats) -> Iterator[dict]:
    line = raw.strip(_PAD)
    if not line:
        stats.skipped["blank_line"] += 1
        return
    try:
        values, slow = [orjson.loads(line)], False
    except orjson.JSONDecodeError:
        values, slow = _slow_decode(line, stats), True
    # No value nests deeper than the line has brackets: most lines need no depth walk.
    deep = line.count(b"{") + line.count(b"[") > MAX_DEPTH
    for value in values:
        if not isinstance(value, dict):
            stats.skipped["not_an_object"] += 1
        elif deep and _too_deep(value):
            stats.skipped["too_deep"] += 1
        else:
            if slow:
                value = _make_encodable(value, stats)
            stats.records[record_type(value)] += 1
            yield value


def record_type(record: dict) -> str:
    kind = record.get("type")
    return kind if isinstance(kind, str) and kind else "no_type"


def as_str(value) -> str:
    """A record field that should be a string: itself, or "" when it is anything else."""
    return value if isinstance(value, str) else ""


def _slow_decode(line: bytes, stats: ParseStats) -> list:
    """Rare path: bad UTF-8, `{...}{...}` on one line (a resume appended to a file with no
    final newline), truncated or garbage lines, nesting beyond orjson's limit."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("utf-8", errors="replace")
        stats.skipped["invalid_utf8_replaced"] += 1
        try:
            return [orjson.loads(text)]
        except orjson.JSONDecodeError:
            pass
    values, failure = _raw_decode_all(text)
    if len(values) > 1:
        stats.skipped["concatenated_json_split"] += 1
    if failure:
        stats.skipped[failure] += 1
    return values


def _raw_decode_all(text: str) -> tuple[list, str | None]:
    """Decode back-to-back JSON values; the reason a tail could not be decoded, if one could not."""
    values, pos, end = [], 0, len(text)
    while pos < end:
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except ValueError:
            return values, "invalid_json"
        except RecursionError:  # json's decoder recurses: a line of ~1000 "[" ends up here
            return values, "too_deep"
        values.append(value)
        pos = _GAP.match(text, pos).end()
    return values, None


def _too_deep(value) -> bool:
    """Whether lists and objects nest more than MAX_DEPTH levels (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _make_encodable(value: dict, stats: ParseStats) -> dict:
    """json accepts what orjson (and UTF-8 writers downstream) reject: lone \\udXXX escapes,
    and integers beyond 64 bits (orjson reads those as floats, and so does this)."""
    try:
        orjson.dumps(value)
        return value
    except TypeError:  # orjson.JSONEncodeError
        fixes: set[str] = set()
        value = _replace_unencodable(value, fixes)
        for reason in sorted(fixes):  # once per record
            stats.skipped[reason] += 1
        return value


def _replace_unencodable(value, fixes: set[str]):
    if isinstance(value, str):
        fixed = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        if fixed != value:
            fixes.add("lone_surrogate_replaced")
        return fixed
    if isinstance(value, list):
        return [_replace_unencodable(v, fixes) for v in value]
    if isinstance(value, dict):
        return {_replace_unencodable(k, fixes): _replace_unencodable(v, fixes) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool) and not _INT_MIN <= value <= _INT_MAX:
        fixes.add("big_int_replaced")
        try:
            return float(value)
        except OverflowError:  # beyond any float: what orjson writes for infinity
            return None
    return value
