"""The datasets stage: a role's stored sessions -> train.jsonl and val.jsonl, published under
datasets/<role>/, and the re-scan of the written files that the blocking checks report."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from gastown_assets.config import Project
from gastown_assets.meta import Json, PathRef
from gastown_assets.storage import DataStore
from gastown_assets.transcripts.store import read_stored_lines

from .build import DatasetBuild, DatasetFile, build, spec_for
from .checks import scan_file, sessions_in_both
from .tokens import chat_token_counter


@dataclass(frozen=True)
class RoleDatasets:
    role: str
    train: DatasetFile  # path: the published uri
    val: DatasetFile
    built: DatasetBuild
    secrets_found: Counter  # kinds still in the written files (blocking check: must be empty)
    sessions_in_both: int  # sessions in both splits (blocking check: must be 0)

    def log_lines(self) -> list[str]:
        b = self.built
        return [
            f"train {b.train.rows} rows / val {b.val.rows} rows; sessions rebuilt {b.cache_misses}, from cache "
            f"{b.cache_hits}; dropped {dict(b.dropped)}; duplicates {dict(b.duplicates)}; redacted "
            f"{sum(b.redacted.values())} secrets"
        ]

    def warnings(self, sessions: int) -> list[str]:
        if self.train.rows and self.val.rows:
            return []
        return [
            f"{self.role}: train {self.train.rows} / val {self.val.rows} rows from {sessions} sessions; "
            "training needs both"
        ]

    def metadata(self, f: DatasetFile, sessions_digest: str, tokenizer: str) -> dict:
        b = self.built
        return {
            "rows": f.rows,
            "sessions": f.sessions,
            "tokens": f.tokens,
            "path": PathRef(f.path),
            "raw_transcripts_version": sessions_digest[:16],
            "tokenizer": tokenizer,
            "dropped": Json(dict(b.dropped)),
            "duplicates": Json(dict(b.duplicates)),
            "redacted_by_type": Json(dict(b.redacted)),
            "sessions_rebuilt": b.cache_misses,
            "sessions_from_cache": b.cache_hits,
        }


def build_role(
    project: Project,
    store: DataStore,
    role: str,
    sessions_uri: str,
    sessions_digest: str,
    tokenizer: str,
    tokenizer_id: str,
) -> RoleDatasets:
    """Render the role's sessions as chat rows with its system prompt, redact, cut to
    sequence_len, drop low-quality and duplicate rows, split by session; publish both files
    (on an object store under datasets/<role>/<version>/) and re-scan them."""
    spec = spec_for(project, role, tokenizer_id)
    out_dir = store.local / "datasets" / role
    built = build(
        read_stored_lines(store.stage(sessions_uri)),
        spec,
        chat_token_counter(tokenizer),
        out_dir,
        input_digest=sessions_digest,
    )
    train, val = Path(built.train.path), Path(built.val.path)
    version = hashlib.sha256(f"{built.train.digest}|{built.val.digest}".encode()).hexdigest()[:16]
    uris = store.publish(f"datasets/{role}", version, [train.name, val.name])
    return RoleDatasets(
        role,
        dataclasses.replace(built.train, path=uris[train.name]),
        dataclasses.replace(built.val, path=uris[val.name]),
        built,
        scan_file(train) + scan_file(val),  # the bytes just published
        len(sessions_in_both(train, val)),
    )
