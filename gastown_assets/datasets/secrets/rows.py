"""Rows: `redact_row` and `scan_row`, walking every string of a JSON-like row (a tool call's
`arguments` string, a value under a secret-named key)."""

from __future__ import annotations

from collections import Counter

import orjson

from .patterns import _SECRET_NAME, GENERIC
from .redactor import Redactor, _bare_secret

# Short strings recur (roles, "function", tool names, small outputs): their redaction (a pure
# function of key and text for a Redactor without extra patterns) is remembered, boundedly.
_SHORT, _SHORT_LEN, _SHORT_MAX = {}, 48, 1 << 16


def _redact_obj(obj, redactor: Redactor, counts: Counter, key: str = ""):
    """Every string in a JSON-like value redacted; a string under a secret-named key as a whole."""
    if isinstance(obj, str):
        if key == "arguments":
            return _redact_arguments(obj, redactor, counts)
        short = len(obj) <= _SHORT_LEN and not redactor._extra
        if short and (done := _SHORT.get((key, obj))) is not None:
            text, found = done
        else:
            text, found = redactor.redact_value(key, obj) if key else redactor.redact(obj)
            if short:
                if len(_SHORT) >= _SHORT_MAX:
                    _SHORT.clear()
                _SHORT[(key, obj)] = text, dict(found)
        if found:
            counts.update(found)
        return text
    if isinstance(obj, dict):
        return {k: _redact_obj(v, redactor, counts, k if isinstance(k, str) else "") for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact_obj(v, redactor, counts) for v in obj]
    return obj


def _redact_arguments(args: str, redactor: Redactor, counts: Counter) -> str:
    """A tool call's JSON-string arguments: redact the string itself; if that broke the JSON,
    redact the decoded value's strings and encode it again."""
    text, found = redactor.redact(args)
    if text != args:
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError:
            try:
                decoded = orjson.loads(args)
            except orjson.JSONDecodeError:  # was not JSON to begin with: the redacted string it is
                pass
            else:
                inner: Counter = Counter()
                text = orjson.dumps(_redact_obj(decoded, redactor, inner)).decode()
                found = inner
    counts.update(found)
    return text


def redact_row(row: dict, redactor: Redactor, counts: Counter) -> dict:
    """A copy of `row` with the secrets in every string redacted (message contents, tool-call
    arguments, anything nested); `counts` gains the number redacted of each kind."""
    return _redact_obj(row, redactor, counts)


def _scan_obj(obj, redactor: Redactor, found: Counter, key: str = "") -> None:
    if isinstance(obj, str):
        for f in redactor.findings(obj):
            found[f.kind] += 1
        if key and key != "arguments" and _SECRET_NAME.search(key) and _bare_secret(key, obj):
            found[GENERIC] += 1
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _scan_obj(v, redactor, found, k if isinstance(k, str) else "")
    elif isinstance(obj, list):
        for v in obj:
            _scan_obj(v, redactor, found)


def scan_row(row: dict, redactor: Redactor) -> Counter:
    """Kinds of the secrets still present anywhere in `row` (the re-scan of written datasets)."""
    found: Counter = Counter()
    _scan_obj(row, redactor, found)
    return found
