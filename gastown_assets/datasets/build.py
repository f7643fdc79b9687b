"""Build a role's train.jsonl and val.jsonl from its stored sessions, streaming, atomically.

Per session: render messages, redact secrets, cut into token-budgeted rows, drop low-quality
rows (cached per session, see rowcache.py); then across the role: drop exact and near
duplicates, and send each session's rows to train or val by a stable hash of its id.
"""

from __future__ import annotations

import hashlib
import pickle
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from gastown_assets.atomic import atomic_open
from gastown_assets.config import Project
from gastown_assets.transcripts.store import session_from_dict
from gastown_assets.workers import Done, ordered_map

from .chunk import CountTokens, chunks
from .decisions import decision_rows
from .dedup import Deduper, row_text
from .quality import quality_issue
from .rowcache import RowCache, SessionRows
from .rows import session_messages
from .secrets import Redactor, redact_row
from .split import is_val

BUILD_VERSION = "3"  # bump when row building changes, so cached rows are rebuilt
STAMP = ".build.json"  # what the files in the folder were last built from
POOL_AFTER = 64  # sessions built here before the rest go to worker processes (see workers.py)


@dataclass
class DatasetFile:
    path: str
    rows: int = 0
    sessions: int = 0
    tokens: int = 0
    digest: str = ""  # sha256 of the file's bytes: the asset's data version
    bytes: int = 0


@dataclass
class DatasetBuild:
    train: DatasetFile
    val: DatasetFile
    dropped: Counter = field(default_factory=Counter)
    redacted: Counter = field(default_factory=Counter)
    duplicates: Counter = field(default_factory=Counter)
    cache_hits: int = 0
    cache_misses: int = 0


@dataclass(frozen=True)
class BuildSpec:
    system_prompt: str
    val_fraction: float
    split_salt: str
    max_tool_result_chars: int
    min_assistant_turns: int
    min_assistant_chars: int
    chunk_overlap_units: int
    dedup_threshold: float
    token_budget: int  # the model's sequence_len
    tokenizer_id: str  # the base model's data version: token counts depend on it
    shape: str = "sessions"  # or "decisions" (datasets/decisions.py)
    dropped_call_arguments: dict = field(default_factory=dict)  # tool -> argument names left out

    @property
    def digest(self) -> str:
        """What a session's cached rows depend on (the split and dedup are redone every run)."""
        cached = {k: v for k, v in asdict(self).items() if k not in ("val_fraction", "split_salt", "dedup_threshold")}
        return hashlib.sha256(orjson.dumps([BUILD_VERSION, cached], option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def spec_for(project: Project, role_name: str, tokenizer_id: str) -> BuildSpec:
    """The role's build spec from configs/: dataset section, system prompt, sequence_len."""
    role = project.role(role_name)
    data = role.dataset
    return BuildSpec(
        shape=data.shape,
        dropped_call_arguments={k: list(v) for k, v in data.dropped_call_arguments.items()},
        system_prompt=role.facts.system_prompt,
        val_fraction=data.val_fraction,
        split_salt=data.split_salt,
        max_tool_result_chars=data.max_tool_result_chars,
        min_assistant_turns=data.min_assistant_turns,
        min_assistant_chars=data.min_assistant_chars,
        chunk_overlap_units=data.chunk_overlap_units,
        dedup_threshold=data.dedup_threshold,
        token_budget=int(project.axolotl(role_name)["sequence_len"]),
        tokenizer_id=tokenizer_id,
    )


class _Writer:
    """Rows to a file and its digest, written (and hashed) a megabyte at a time."""

    FLUSH = 1 << 20

    def __init__(self, f, target: DatasetFile):
        self.f, self.target, self.hash = f, target, hashlib.sha256()
        self._pending: list[bytes] = []
        self._size = 0

    def row(self, line: bytes, tokens: int) -> None:
        self._pending.append(line)
        self._size += len(line)
        self.target.rows += 1
        self.target.tokens += tokens
        if self._size >= self.FLUSH:
            self.flush()

    def flush(self) -> None:
        data = b"".join(self._pending)
        self.f.write(data)
        self.hash.update(data)
        self.target.bytes += len(data)
        self._pending.clear()
        self._size = 0


def session_rows(line: bytes, spec: BuildSpec, count: CountTokens, redactor: Redactor, deduper: Deduper) -> SessionRows:
    """Everything about one session's rows that does not depend on the other sessions."""
    session = session_from_dict(orjson.loads(line))
    result = SessionRows(session.session_id, [], [], [])
    messages = session_messages(session, spec.max_tool_result_chars, result.dropped, spec.dropped_call_arguments)
    messages = redact_row({"messages": messages}, redactor, result.redacted)["messages"]
    for index, (row, tokens) in enumerate(_rows(spec, messages, count, result.dropped)):
        # A decision row is judged by its call alone (decisions.py drops invalid or rejected
        # calls): a failed command in its context is what the decision answers, not noise.
        issue = None if spec.shape == "decisions" else quality_issue(row, spec.min_assistant_chars)
        if issue:
            result.dropped[issue] += 1
            continue
        result.lines.append(orjson.dumps({"session_id": session.session_id, "chunk": index, "messages": row}) + b"\n")
        result.tokens.append(tokens)
        result.fingerprints.append(deduper.fingerprint(row_text(row)))
    if not result.lines:
        result.dropped["session_without_rows"] += 1
    return result


def _rows(spec: BuildSpec, messages: list[dict], count: CountTokens, dropped: Counter):
    system = {"role": "system", "content": spec.system_prompt.strip()}
    if spec.shape == "decisions":
        return decision_rows(system, messages, spec.token_budget, count, dropped, spec.max_tool_result_chars)
    return chunks(
        system, messages, spec.token_budget, count, dropped, spec.min_assistant_turns, spec.chunk_overlap_units
    )


def _stamp_key(spec: BuildSpec, input_digest: str) -> str:
    return hashlib.sha256(orjson.dumps([BUILD_VERSION, asdict(spec), input_digest])).hexdigest()


def _previous(out_dir: Path, key: str) -> DatasetBuild | None:
    """The last build's result when it was made from the same input and spec and its files
    are still the ones it wrote."""
    try:
        stamp = orjson.loads((out_dir / STAMP).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if stamp.get("key") != key:
        return None
    r = stamp["result"]
    train, val = DatasetFile(**r["train"]), DatasetFile(**r["val"])
    for f in (train, val):
        if not Path(f.path).is_file() or Path(f.path).stat().st_size != f.bytes:
            return None
    return DatasetBuild(
        train,
        val,
        **{k: Counter(r[k]) for k in ("dropped", "redacted", "duplicates")},
        cache_hits=r["cache_hits"] + r["cache_misses"],
    )


def build(
    lines: Iterable[bytes], spec: BuildSpec, count: CountTokens, out_dir: Path, input_digest: str | None = None
) -> DatasetBuild:
    """Rows for every session in `lines`. Given the digest of those lines, a build from the same
    input and spec is not redone: the files it wrote are still right."""
    key = _stamp_key(spec, input_digest) if input_digest else None
    if key and (done := _previous(out_dir, key)):
        return done
    result = _build(lines, spec, count, out_dir)
    if key:  # not fsynced: a stamp lost or cut short only costs a rebuild (files are checked by size)
        with atomic_open(out_dir / STAMP, durable=False) as f:
            f.write(orjson.dumps({"key": key, "result": result}))
    return result


_job: tuple | None = None  # (spec, count, redactor, deduper) of this process's session_rows jobs


def _setup(spec: BuildSpec, count: CountTokens) -> None:
    global _job
    _job = (spec, count, Redactor(), Deduper(threshold=spec.dedup_threshold))


def _rows_job(item: tuple[str, bytes]) -> tuple[str, SessionRows, bool]:
    key, line = item
    return key, session_rows(line, *_job), True


def _picklable(count: CountTokens) -> bool:
    try:
        pickle.dumps(count)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


def _build(lines: Iterable[bytes], spec: BuildSpec, count: CountTokens, out_dir: Path) -> DatasetBuild:
    result = DatasetBuild(DatasetFile(str(out_dir / "train.jsonl")), DatasetFile(str(out_dir / "val.jsonl")))
    deduper = Deduper(threshold=spec.dedup_threshold)
    spec_digest = spec.digest.encode()
    cache_path = out_dir / f".rows-{spec.digest}.cache"
    with (
        RowCache(cache_path) as cache,
        atomic_open(out_dir / "train.jsonl") as tf,
        atomic_open(out_dir / "val.jsonl") as vf,
    ):
        train, val = _Writer(tf, result.train), _Writer(vf, result.val)

        def jobs():  # cached sessions are done; the rest are built here or, when many, in workers
            for line in lines:
                key = hashlib.blake2b(line + spec_digest, digest_size=16).hexdigest()
                rows = cache.get(key)
                yield Done((key, rows, False)) if rows is not None else (key, line)

        for key, rows, fresh in ordered_map(
            _rows_job,
            jobs(),
            initializer=_setup,
            initargs=(spec, count),
            start_after=POOL_AFTER,
            workers=None if _picklable(count) else 0,
        ):
            if fresh:
                cache.put(key, rows)
            if rows.dropped:
                result.dropped.update(rows.dropped)
            if rows.redacted:
                result.redacted.update(rows.redacted)
            target = val if is_val(rows.session_id, spec.val_fraction, spec.split_salt) else train
            kept = 0
            for index, (row_line, tokens, fp) in enumerate(zip(rows.lines, rows.tokens, rows.fingerprints)):
                dup = deduper.check_fingerprint(f"{rows.session_id}:{index}", fp)
                if dup:
                    result.duplicates[dup] += 1
                    continue
                target.row(row_line, tokens)
                kept += 1
            target.target.sessions += kept > 0
        train.flush()
        val.flush()
        result.train.digest, result.val.digest = train.hash.hexdigest(), val.hash.hexdigest()
    result.cache_hits, result.cache_misses = cache.hits, cache.misses
    for stale in out_dir.glob(".rows-*.cache"):  # other specs' rows: never read again unless the spec goes back
        if stale != cache_path:
            stale.unlink(missing_ok=True)
    return result
