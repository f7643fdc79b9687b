"""Redaction at ingest: a session's secrets are replaced while it is parsed, before anything
about it is written (the parse cache, the role stores, a bucket, metadata, logs).

Every string a Session holds goes through the scrubber (datasets/secrets/): user, assistant
and tool text, thinking, tool-call arguments (values, and keys; a value under a secret-named
key such as `DB_PASSWORD` is judged whole), tool names and ids, and the cwd. The datasets
re-scan their rows as a second line.

What was removed is kept only as a `RemovedSecret`: the kind, a salted hash of the value
(HMAC-SHA256 under a random salt of the parse cache), its length, and the redacted text that
preceded it (its context), so that a trained adapter can be prompted with that context and its
output checked for the same secret (evaluation/memorization.py). Never the value. The salt
travels with the hashes (the probe must hash what a model writes), so whoever reads both can
test guesses against a hash: a random key cannot be guessed; a weak password can be, as with
any salted hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from gastown_assets.datasets.secrets import REDACTED, Redactor, Removed

from .model import Session

CONTEXT_CHARS = 256  # of redacted text before a removed secret, kept as its probe prompt
SALT_FILE = "salt"  # in the parse cache's folder
HASH = "hmac-sha256"


class RemovedSecret(NamedTuple):
    """One secret removed at ingest: never its value."""

    session_id: str
    speaker: str  # user | assistant | thinking | tool | tool_call | cwd
    kind: str
    hash: str  # secret_hash(salt, value)
    length: int  # characters of the value
    context: str  # the redacted text right before it in the same string (at most CONTEXT_CHARS)


def secret_hash(salt: bytes, value: str) -> str:
    return hmac.new(salt, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def new_salt() -> bytes:
    return os.urandom(32)


def cache_salt(cache_dir: Path) -> bytes:
    """The parse cache's salt, made once (the first writer wins; racing runs read its salt)."""
    path = cache_dir / SALT_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".{SALT_FILE}.{os.getpid()}"
    tmp.write_text(new_salt().hex())
    try:
        os.link(tmp, path)  # atomic and exclusive: fails when another run made it first
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


class SessionRedactor:
    """Redacts Sessions in place. With a salt it also records what it removed (`take()`).

    Two passes over the sessions of one file: the scrubber on every string, then every other
    verbatim occurrence of a value it removed (as written, or JSON-escaped), which the scrubber
    alone could miss: `grep -r <password>` after `DB_PASSWORD=<password>`. The values live in
    memory for that one file only."""

    MIN_SWEEP = 8  # shorter removed values are not swept for (they would hit ordinary words)

    def __init__(self, salt: bytes | None = None, redactor: Redactor | None = None):
        self.salt = salt
        self.redactor = redactor or Redactor()
        self.counts: Counter = Counter()
        self._counts = self.counts
        self._removed: list[RemovedSecret] = []
        self._memo: dict[str, str] = {}  # value -> hash, this process only (a secret recurs)
        self._values: dict[str, str] = {}  # this file's removed values -> kind
        self._sweep: re.Pattern[str] | None = None
        self._forms: dict[str, tuple[str, str]] = {}  # a value as written (maybe escaped) -> (value, kind)

    def take(self) -> list[RemovedSecret]:
        """What was removed since the last take."""
        out, self._removed = self._removed, []
        return out

    def session(self, s: Session, counts: Counter | None = None) -> Session:
        """Redact one session in place (see sessions())."""
        return self.sessions([s], counts)[0]

    def sessions(self, sessions: list[Session], counts: Counter | None = None) -> list[Session]:
        """Redact the sessions of one file in place; `counts` (default: self.counts) gains the
        kinds removed."""
        self._counts = self.counts if counts is None else counts
        self._values.clear()
        self._sweep = None
        try:
            for s in sessions:
                self._walk(s, self._scrub)
            forms = {}
            for value, kind in self._values.items():
                for form in (value, json.dumps(value)[1:-1], json.dumps(json.dumps(value))[3:-3]):
                    if len(form) >= self.MIN_SWEEP:
                        forms.setdefault(form, (value, kind))
            if forms:
                self._forms = forms
                self._sweep = re.compile("|".join(map(re.escape, sorted(forms, key=len, reverse=True))))
                for s in sessions:
                    self._walk(s, self._swept)
        finally:
            self._values.clear()
            self._forms, self._sweep = {}, None
        return sessions

    def _walk(self, s: Session, fix) -> None:
        sid = s.session_id
        s.cwd = fix(s.cwd, sid, "cwd")
        for turn in s.turns:
            if turn.text:
                turn.text = fix(turn.text, sid, turn.speaker)
            if turn.thinking:
                turn.thinking = fix(turn.thinking, sid, "thinking")
            for call in turn.tool_calls:
                call.name = fix(call.name, sid, "tool_call")
                call.id = fix(call.id, sid, "tool_call")
                call.arguments = self._value(call.arguments, sid, fix)
            if turn.tool_call_id:
                turn.tool_call_id = fix(turn.tool_call_id, sid, "tool")

    def _value(self, value, sid: str, fix, key: str = ""):
        """A tool call's arguments: every string, and every key."""
        if isinstance(value, str):
            return fix(value, sid, "tool_call", key)
        if isinstance(value, dict):
            return {
                (fix(k, sid, "tool_call") if isinstance(k, str) else k): self._value(
                    v, sid, fix, k if isinstance(k, str) else ""
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._value(v, sid, fix) for v in value]
        return value

    def _scrub(self, text: str, sid: str, speaker: str, key: str = "") -> str:
        if not text:
            return text
        removed: list[Removed] = []
        if key:
            out, found = self.redactor.redact_value(key, text, removed)
        else:
            out, found = self.redactor.redact(text, removed)
        if found:
            self._counts.update(found)
            for r in removed:
                if "[REDACTED:" not in r.value:
                    self._values.setdefault(r.value, r.kind)
                self._record(sid, speaker, r.kind, r.value, out, r.at)
        return out

    def _swept(self, text: str, sid: str, speaker: str, key: str = "") -> str:
        if not text or self._sweep.search(text) is None:
            return text
        parts, last, at, hits = [], 0, 0, []
        for m in self._sweep.finditer(text):
            value, kind = self._forms[m.group()]
            parts.append(text[last : m.start()])
            at += m.start() - last
            marker = REDACTED.format(kind=kind)
            parts.append(marker)
            hits.append((kind, value, at))
            at += len(marker)
            last = m.end()
            self._counts[kind] += 1
        parts.append(text[last:])
        out = "".join(parts)
        for kind, value, at in hits:
            self._record(sid, speaker, kind, value, out, at)
        return out

    def _record(self, sid: str, speaker: str, kind: str, value: str, out: str, at: int) -> None:
        if self.salt is not None:
            self._removed.append(
                RemovedSecret(sid, speaker, kind, self._hash(value), len(value), out[max(0, at - CONTEXT_CHARS) : at])
            )

    def _hash(self, value: str) -> str:
        done = self._memo.get(value)
        if done is None:
            if len(self._memo) > 4096:
                self._memo.clear()
            done = self._memo[value] = secret_hash(self.salt, value)
        return done


RECORD_FORMAT = 1


def record_bytes(salt: bytes, removed: list[RemovedSecret]) -> bytes:
    """A role's record of removed secrets (the probe's input): the salt, and per secret its
    session, speaker, kind, hash, length and context. No value."""
    import orjson

    return orjson.dumps(
        {"format": RECORD_FORMAT, "algorithm": HASH, "salt": salt.hex(), "secrets": [r._asdict() for r in removed]}
    )


def read_record(data: bytes) -> tuple[bytes, list[RemovedSecret]]:
    """(salt, removed secrets) from record_bytes' output; ValueError when it is not one."""
    import orjson

    try:
        doc = orjson.loads(data)
        if doc.get("format") != RECORD_FORMAT or doc.get("algorithm") != HASH:
            raise ValueError(f"format {doc.get('format')!r} / {doc.get('algorithm')!r}")
        return bytes.fromhex(doc["salt"]), [RemovedSecret(**r) for r in doc["secrets"]]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a record of removed secrets: {exc}") from None
