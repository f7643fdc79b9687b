"""Build every role's datasets from GASTOWN_SESSIONS_DIR, as the Dagster assets do, without
Dagster's own overhead (`python -m benchmarks.build_all [--model-only]`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gastown_assets.datasets.build import build, spec_for
from gastown_assets.datasets.tokens import chat_token_counter
from gastown_assets.settings import Settings
from gastown_assets.training.base_model import resolve_base_model
from gastown_assets.transcripts import find_session_files
from gastown_assets.transcripts.cache import ParseCache
from gastown_assets.transcripts.corpus import CorpusTally, collect_role
from gastown_assets.transcripts.store import read_stored_lines


def main() -> None:
    s = Settings.from_env()  # GASTOWN_PROFILE picks the tokenizer (default: local)
    base = resolve_base_model(s.project)
    if "--model-only" in sys.argv:
        return
    count = chat_token_counter(base.name_or_path)
    print(f"start: {time.process_time():.1f} s CPU", flush=True)
    rules = s.project.role_rules()
    for role in s.project.role_names:
        # per role, as each role's raw_transcripts run does: list the files, read the manifest
        start = time.perf_counter()
        files = list(find_session_files(s.sessions_roots))
        cache = ParseCache(s.data_dir / "transcripts" / "cache")
        store = collect_role(
            files, role, rules, cache, s.role_dir("transcripts", role) / "sessions.jsonl", CorpusTally()
        )
        collected = time.perf_counter()
        result = build(
            read_stored_lines(Path(store.path)),
            spec_for(s.project, role, base.digest),
            count,
            s.role_dir("datasets", role),
            input_digest=store.digest,
        )
        print(
            f"{role}: {store.sessions} sessions -> train {result.train.rows} / val {result.val.rows} rows "
            f"(sessions {collected - start:.1f} s, rows {time.perf_counter() - collected:.1f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
