"""Build every role's datasets from GASTOWN_SESSIONS_DIR, as the Dagster assets do, without
Dagster's own overhead (`python -m benchmarks.build_all [--model-only]`)."""

from __future__ import annotations

import sys
import time

from gastown_assets.datasets.stage import build_role
from gastown_assets.settings import Settings
from gastown_assets.training.base_model import resolve_base_model
from gastown_assets.transcripts.collect import NoRoleSessions, collect


def main() -> None:
    s = Settings.from_env()  # GASTOWN_PROFILE picks the tokenizer (default: local)
    base = resolve_base_model(s.project)
    if "--model-only" in sys.argv:
        return
    print(f"start: {time.process_time():.1f} s CPU", flush=True)
    rules = s.project.role_rules()
    for role in s.project.role_names:  # per role, as each role's run does: the assets' own stage calls
        start = time.perf_counter()
        try:
            found = collect(role, s.sessions_roots, rules, s.store, s.project.role(role).path)
        except NoRoleSessions as exc:
            print(f"{role}: {exc}", flush=True)
            continue
        collected = time.perf_counter()
        out = build_role(s.project, s.store, role, found.path, found.digest, base.name_or_path, base.digest)
        print(
            f"{role}: {found.sessions} sessions -> train {out.train.rows} / val {out.val.rows} rows "
            f"(sessions {collected - start:.1f} s, rows {time.perf_counter() - collected:.1f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
