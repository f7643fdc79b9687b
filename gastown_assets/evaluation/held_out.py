"""`python -m gastown_assets replay ROLE --sessions DIR`: replay any folder of sessions.

The sessions are read with the project's own reader and tagged by cwd as raw_transcripts tags
them; every main session of the role counts as held out. Their decision points are cut exactly as
training rows are (decision rows, redaction, the role's system prompt and token budget), and the
base model and the role's promoted (or a named) adapter reply to each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from gastown_assets.datasets.build import session_rows, spec_for
from gastown_assets.datasets.dedup import Deduper
from gastown_assets.datasets.secrets import Redactor
from gastown_assets.datasets.tokens import chat_token_counter
from gastown_assets.evaluation.replay import DecisionPoint, Metrics, decision_points, replay, sample, score
from gastown_assets.evaluation.run import for_inference, inference_dtype, load_base, with_adapter
from gastown_assets.pull import PullError, pick_version
from gastown_assets.settings import Settings
from gastown_assets.training.base_model import resolve_base_model
from gastown_assets.training.launch import ADAPTER_FILES
from gastown_assets.training.remote import stage_base_model
from gastown_assets.transcripts import ParseStats, find_session_files, read_sessions, tag_role
from gastown_assets.transcripts.store import session_line


class ReplayError(RuntimeError):
    """A replay that cannot run: unknown role, no adapter, no decision points."""


@dataclass(frozen=True)
class HeldOutReplay:
    role: str
    adapter: str  # the adapter version replayed
    points: int
    sessions: int
    base: Metrics
    tuned: Metrics

    def to_json(self) -> dict:
        """The command's --json object: {"role", "adapter", "points", "base", ...}; "adapter"
        holds the adapter's metrics and its version (one key cannot hold two values)."""
        return {
            "role": self.role,
            "points": self.points,
            "sessions": self.sessions,
            "base": self.base.model_dump(),
            "adapter": {"version": self.adapter, **self.tuned.model_dump()},
        }


def role_sessions(sessions_dir: Path, role: str, rules) -> Iterator:
    """Main sessions of `role` under `sessions_dir`, read and tagged as raw_transcripts does."""
    stats = ParseStats()
    for f in find_session_files([sessions_dir]):
        for session in read_sessions(f.path, stats):
            if session.kind == "main" and tag_role(session.cwd, rules) == role:
                yield session


def held_out_points(
    settings: Settings, role: str, sessions_dir: Path, tokenizer_path: str, tokenizer_id: str
) -> tuple[list[DecisionPoint], int]:
    """Decision points of every session of the role, cut as decision rows (redacted)."""
    spec = dataclasses.replace(spec_for(settings.project, role, tokenizer_id), shape="decisions")
    count, redactor = chat_token_counter(tokenizer_path), Redactor()
    deduper = Deduper(threshold=spec.dedup_threshold)
    rows, sessions = [], 0
    for session in role_sessions(sessions_dir, role, settings.project.role_rules()):
        sessions += 1
        built = session_rows(session_line(session), spec, count, redactor, deduper)
        rows += [orjson.loads(line) for line in built.lines]
    return decision_points(rows), sessions


def _adapter_dir(settings: Settings, role: str, version: str | None) -> tuple[str, Path]:
    store = settings.store
    try:
        version = pick_version(store, role, version)
    except PullError as exc:
        raise ReplayError(str(exc)) from None
    key = f"adapters/{role}/{version}"
    if store.missing(store.uri(key), ADAPTER_FILES):
        raise ReplayError(f"{store.uri(key)}: no such adapter version for {role}")
    return version, store.stage_dir(store.uri(key), ADAPTER_FILES)


def replay_sessions(
    settings: Settings,
    role: str,
    sessions_dir: Path,
    adapter: str | None = None,
    limit: int | None = None,
    log: Callable[[str], None] | None = None,
) -> HeldOutReplay:
    """`adapter`: "current" or None for the promoted adapter, else a version."""
    project = settings.project
    if role not in project.role_names:
        raise ReplayError(
            f"unknown role {role!r}; roles: {', '.join(project.role_names)} ({project.config_dir / 'roles'})"
        )
    if not sessions_dir.is_dir():
        raise ReplayError(f"{sessions_dir}: no such folder of sessions")
    version, adapter_dir = _adapter_dir(settings, role, None if adapter in (None, "current") else adapter)
    spec = project.role(role).eval
    base = resolve_base_model(project)
    base_path = stage_base_model(settings.store, project.profile, base)
    points, sessions = held_out_points(settings, role, sessions_dir, base_path, base.digest)
    if not points:
        raise ReplayError(
            f"{sessions_dir}: no decision points in {sessions} {role} session(s) "
            "(a decision is an assistant message that calls a tool)"
        )
    points = sample(points, limit or spec.replay_points)
    model, tokenizer = load_base(base_path)
    dtype = inference_dtype(spec.dtype)
    base_replies = replay(for_inference(model, dtype), tokenizer, points, spec.max_new_tokens, log, "base")
    tuned_replies = replay(
        for_inference(with_adapter(model, adapter_dir), dtype), tokenizer, points, spec.max_new_tokens, log, "adapter"
    )
    return HeldOutReplay(
        role, version, len(points), sessions, score(points, base_replies), score(points, tuned_replies)
    )
