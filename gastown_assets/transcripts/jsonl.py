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
        values = [orjson.loads(line)]
    except orjson.JSONDecodeError:
        values = _slow_decode(line, stats)
    for value in values:
        if isinstance(value, dict):
            stats.records[record_type(value)] += 1
            yield value
        else:
            stats.skipped["not_an_object"] += 1


def record_type(record: dict) -> str:
    kind = record.get("type")
    return kind if isinstance(kind, str) and kind else "no_type"


def _slow_decode(line: bytes, stats: ParseStats) -> list:
    """Rare path: bad UTF-8, `{...}{...}` on one line (a resume appended to a file with no
    final newline), truncated or garbage lines."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("utf-8", errors="replace")
        stats.skipped["invalid_utf8_replaced"] += 1
        try:
            return [orjson.loads(text)]
        except orjson.JSONDecodeError:
            pass
    values, complete = _raw_decode_all(text)
    if len(values) > 1:
        stats.skipped["concatenated_json_split"] += 1
    if not complete:
        stats.skipped["invalid_json"] += 1
    return [_fix_surrogates(v, stats) for v in values]


def _raw_decode_all(text: str) -> tuple[list, bool]:
    """Decode back-to-back JSON values; False when a tail could not be decoded."""
    values, pos, end = [], 0, len(text)
    while pos < end:
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except ValueError:
            return values, False
        values.append(value)
        pos = _GAP.match(text, pos).end()
    return values, True


def _fix_surrogates(value, stats: ParseStats):
    """json accepts lone \\udXXX escapes that orjson (and UTF-8 writers downstream) reject."""
    try:
        orjson.dumps(value)
        return value
    except TypeError:  # orjson.JSONEncodeError; also raised for ints beyond 64 bits
        fixed = _replace_surrogates(value)
        if fixed != value:
            stats.skipped["lone_surrogate_replaced"] += 1
        return fixed


def _replace_surrogates(value):
    if isinstance(value, str):
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value
