"""Build every role's datasets from GASTOWN_SESSIONS_DIR, as the Dagster assets do, without
Dagster's own overhead (`python -m benchmarks.build_all [--model-only]`)."""

from __future__ import annotations

import sys
from pathlib import Path

from gastown_assets.datasets.build import build, spec_for
from gastown_assets.datasets.tokens import chat_token_counter
from gastown_assets.settings import Settings
from gastown_assets.training.base_model import resolve_base_model
from gastown_assets.training.config import role_names, role_rules
from gastown_assets.transcripts import find_session_files
from gastown_assets.transcripts.cache import ParseCache
from gastown_assets.transcripts.corpus import CorpusTally, collect_role
from gastown_assets.transcripts.store import read_stored_lines


def main() -> None:
    s = Settings.from_env()
    base = resolve_base_model(s.config_dir, "local", s.data_dir)
    if "--model-only" in sys.argv:
        return
    count = chat_token_counter(base.name_or_path)
    rules, cache = role_rules(s.config_dir), ParseCache(s.data_dir / "transcripts" / "cache")
    for role in role_names(s.config_dir):
        files = list(find_session_files(s.sessions_roots))
        store = collect_role(files, role, rules, cache, s.role_dir("transcripts", role) / "sessions.jsonl",
                             CorpusTally())
        result = build(read_stored_lines(Path(store.path)),
                       spec_for(s.config_dir, role, "local", s.data_dir, base.digest), count,
                       s.role_dir("datasets", role), input_digest=store.digest)
        print(f"{role}: {store.sessions} sessions -> train {result.train.rows} / val {result.val.rows} rows",
              flush=True)


if __name__ == "__main__":
    main()
