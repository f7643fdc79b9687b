"""Build a role's train.jsonl and val.jsonl from its stored sessions, streaming, atomically."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from gastown_assets.atomic import atomic_open
from gastown_assets.transcripts.model import Session

from .chunk import CountTokens, chunks
from .rows import session_messages
from .split import is_val


@dataclass
class DatasetFile:
    path: str
    rows: int = 0
    sessions: int = 0
    tokens: int = 0
    digest: str = ""  # sha256 of the file's bytes: the asset's data version


@dataclass
class DatasetBuild:
    train: DatasetFile
    val: DatasetFile
    dropped: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class BuildSpec:
    system_prompt: str
    val_fraction: float
    split_salt: str
    max_tool_result_chars: int
    min_assistant_turns: int
    token_budget: int  # the model's sequence_len


class _Writer:
    def __init__(self, f, target: DatasetFile):
        self.f, self.target, self.hash = f, target, hashlib.sha256()

    def session(self, session_id: str, rows: list[tuple[list[dict], int]]) -> None:
        if not rows:
            return
        self.target.sessions += 1
        for index, (messages, tokens) in enumerate(rows):
            line = orjson.dumps({"session_id": session_id, "chunk": index, "messages": messages})
            self.f.write(line + b"\n")
            self.hash.update(line + b"\n")
            self.target.rows += 1
            self.target.tokens += tokens


def build(sessions: Iterable[Session], spec: BuildSpec, count: CountTokens, out_dir: Path) -> DatasetBuild:
    result = DatasetBuild(DatasetFile(str(out_dir / "train.jsonl")), DatasetFile(str(out_dir / "val.jsonl")))
    system = {"role": "system", "content": spec.system_prompt.strip()}
    with atomic_open(out_dir / "train.jsonl") as tf, atomic_open(out_dir / "val.jsonl") as vf:
        train, val = _Writer(tf, result.train), _Writer(vf, result.val)
        for session in sessions:
            messages = session_messages(session, spec.max_tool_result_chars, result.dropped)
            rows = list(chunks(system, messages, spec.token_budget, count, result.dropped,
                               spec.min_assistant_turns))
            if not rows:
                result.dropped["session_without_rows"] += 1
            target = val if is_val(session.session_id, spec.val_fraction, spec.split_salt) else train
            target.session(session.session_id, rows)
        result.train.digest, result.val.digest = train.hash.hexdigest(), val.hash.hexdigest()
    return result


def chat_template_counter(tokenizer) -> CountTokens:
    """Tokens of messages as the model's own chat template renders them."""
    def count(messages: list[dict]) -> int:
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])
    return count
