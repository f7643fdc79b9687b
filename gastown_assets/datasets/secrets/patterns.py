"""Regex building blocks (written as str, compiled as bytes), the keyword tables, and the regexes
the handlers and hints use at a keyword or a `://`. Imports nothing of the package."""

from __future__ import annotations

import re

REDACTED = "[REDACTED:{kind}]"
GENERIC = "generic_secret"  # kind of a `NAME=value` assignment whose NAME says it holds a secret

Span = tuple[int, int, str]  # start, end, kind

# --------------------------------------------------------------------------------------------
# Regex building blocks (written as str, compiled as bytes)
# --------------------------------------------------------------------------------------------


def _ci(word: str) -> str:
    """`word` in any case, as one-character classes (no inline flags: they cost speed)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


def _bound(before: str) -> str:
    """Right after the fixed-width prefix `before`: the prefix does not continue an alphanumeric
    word, unless a `\\n`-style escape precedes it (`...\\nsk-ant-...` in JSON-escaped text)."""
    return rf"(?:(?<![A-Za-z0-9]{before})|(?<=\\[nrt]{before}))"


def _rx(pattern: str) -> re.Pattern[bytes]:
    return re.compile(pattern.encode())


# A quote as it appears in plain text (`"`), in JSON inside a JSON string (`\"`) or deeper (`\\\"`).
_Q = r"""\\*["']"""
_SEP = r"""(?:\\*["'])?[ \t]*(?::=|=>|=|:)[ \t]*"""
# `Authorization: Bearer <token>`: the scheme is kept, the token redacted.
_SCHEME = r"(?:(?:[Bb]earer|BEARER|[Bb]asic|[Tt]oken)[ \t]+)?"
# An unquoted value stops at whitespace, quotes, backslashes (escapes such as `\n`) and separators.
_UNQUOTED = r"""[^\s"'\\`,;&|<>{}]"""
_DQ_VALUE, _SQ_VALUE = r'[^"\\\r\n]', r"[^'\\\r\n]"
# Values are judged on their first 256 characters (so that `key=key=key=...` costs no more than
# that per keyword); one judged a secret is redacted to its end.
_VALUE_CAP = 256
_NAME_TAIL = r"[A-Za-z0-9_.\-]{0,80}"
_T = r"[a-zA-Z0-9_\-]"


# --------------------------------------------------------------------------------------------
# What the handlers (scanner.py) match at a keyword or a `://`
# --------------------------------------------------------------------------------------------

_URL_PASSWORD = _rx(r"""://[^\s:/?#@"'\\<>]*:([^\s/?#@"'\\<>]+)@""")
_AWS_SECRET = _rx(_ci("aws_secret_access_key") + _SEP + f"(?:{_Q})?" + r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])")

# Assignment keywords: (keyword as found, regex from there, lookahead ruling out non-secret words).
# `pass` is found so that the IBM hints see it too; the assignment needs `passw`.
_KEYWORDS: tuple[tuple[str, str, str], ...] = (
    ("key", "key", r"(?![bB][oO][aA][rR][dD]|[wW][oO][rR][dD]|[sS][tT][rR][oO][kK][eE]|[fF][rR][aA][mM][eE])"),
    ("token", "token", r"(?![iI][zZ])"),  # tokenizer, tokenize
    ("secret", "secret", r"(?![aA][rR][yY])"),  # secretary
    ("pass", "passw", ""),  # password, passwd
    ("pwd", "pwd", ""),
    ("auth", "auth", r"(?![oO][rR](?![iI][zZsS]))"),  # author, authored; not authorization
    ("credential", "credential", ""),
)


def _assignment(word: str, exclude: str) -> re.Pattern[bytes]:
    head = _ci(word) + exclude + _NAME_TAIL + _SEP
    cap = f"{{1,{_VALUE_CAP}}}"
    return _rx(
        f"{head}(?:"
        + r'\\*"'
        + _SCHEME
        + f"(?P<dq>{_DQ_VALUE}{cap})"
        + "|"
        + r"\\*'"
        + _SCHEME
        + f"(?P<sq>{_SQ_VALUE}{cap})"
        + "|"
        + _SCHEME
        + f"(?P<u>{_UNQUOTED}{cap}))"
    )


_VALUE_RUNS = {"dq": _rx(_DQ_VALUE + "*"), "sq": _rx(_SQ_VALUE + "*"), "u": _rx(_UNQUOTED + "*")}


_ASSIGNMENTS = {found: _assignment(word, exclude) for found, word, exclude in _KEYWORDS}
# A dict key that names a secret: the value of {"DB_PASSWORD": "..."} is an assignment value.
_SECRET_NAME = re.compile("|".join(_ci(word) + exclude for _, word, exclude in _KEYWORDS))

# detect-secrets hints checked at a keyword (on the lowered text) or at a `://`.
_IBM_IAM_HINT = _rx(rf"""(?:key|pwd|password|pass|token)["']?\]? *(?:=|:|:=|=>| +|::) *["']?{_T}{{44}}(?!{_T})""")
_IBM_COS_HINT = _rx(r"secret[-_]?(?:access)?[-_]?key")
_CLOUDANT_BEFORE = _rx(r"(?:cloudant|clou|cl)[-_]?(?:api[-_]?)?\Z")
_SOFTLAYER_BEFORE = _rx(r"(?:softlayer|sl)[-_]?(?:api[-_]?)?\Z")
_BASIC_AUTH_HINT = _rx(r"""://[^:/?#\[\]@!$&'()*+,;=\s]+:[^:/?#\[\]@!$&'()*+,;=\s]+@""")
_PLUGIN_WORDS = frozenset({"key", "token", "pass", "pwd"})  # the assignment plugins' keywords
