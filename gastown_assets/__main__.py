"""Command line (also the `gastown` console script):

    python -m gastown_assets pull-adapter ROLE [DEST] [--version V]
    python -m gastown_assets replay ROLE --sessions DIR [--adapter current|VERSION] [--limit N] [--json]
    python -m gastown_assets prune [--keep N] [--dry-run]
    python -m gastown_assets serve [--host 127.0.0.1] [--port 8000] [--watch-s 5] [--max-tokens N]

The data dir is GASTOWN_DATA_DIR (a folder, or s3://bucket/prefix with the standard AWS_*
variables; AWS_ENDPOINT_URL for an S3-compatible store), the profile GASTOWN_PROFILE, as for the
Dagster assets."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _pull(args) -> int:
    from gastown_assets.pull import PullError, pull_adapter
    from gastown_assets.settings import Settings

    try:
        dest = pull_adapter(Settings.from_env().store, args.role, args.dest, args.version)
    except PullError as exc:
        print(f"pull-adapter: {exc}", file=sys.stderr)
        return 1
    print(dest)
    return 0


def _replay(args) -> int:
    from gastown_assets.evaluation.held_out import ReplayError, replay_sessions
    from gastown_assets.settings import Settings

    try:
        result = replay_sessions(
            Settings.from_env(),
            args.role,
            args.sessions,
            args.adapter,
            args.limit,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except ReplayError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
        return 0
    print(f"{result.role}: adapter {result.adapter}, {result.points} decision points from {result.sessions} sessions")
    print(f"{'model':<8} {'parse':>7} {'tool':>7} {'command':>8} {'p50 s':>7} {'p95 s':>7}")
    for name, m in (("base", result.base), ("adapter", result.tuned)):
        print(
            f"{name:<8} {m.parse_rate:>7.0%} {m.tool_accuracy:>7.0%} {m.command_accuracy:>8.0%} "
            f"{m.latency_p50_s:>7.2f} {m.latency_p95_s:>7.2f}"
        )
    return 0


def _serve(args) -> int:
    import logging

    from gastown_assets.serving.manifest import ManifestError
    from gastown_assets.serving.server import serve
    from gastown_assets.settings import Settings

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    try:
        serve(Settings.from_env(), args.host, args.port, args.watch_s, args.max_tokens)
    except ManifestError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 1
    return 0


def _add_serve(sub) -> None:
    srv = sub.add_parser("serve", help="an OpenAI-compatible endpoint for the base and every promoted role adapter")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument(
        "--watch-s",
        type=float,
        default=5.0,
        help="seconds between looks at serving/manifest.json for a new promotion (0: never)",
    )
    srv.add_argument("--max-tokens", type=int, default=256, help="per reply, when a request does not say")
    srv.set_defaults(run=_serve)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gastown_assets")
    sub = parser.add_subparsers(dest="command", required=True)
    pull = sub.add_parser("pull-adapter", help="download a role's promoted (or a named) adapter")
    pull.add_argument("role")
    pull.add_argument("dest", nargs="?", type=Path, help="folder to create (default ./<role>-<version>)")
    pull.add_argument("--version", help="an adapter version from the role's registry (default: promoted)")
    pull.set_defaults(run=_pull)
    rep = sub.add_parser("replay", help="replay a folder of sessions' decisions: base vs the role's adapter")
    rep.add_argument("role")
    rep.add_argument("--sessions", type=Path, required=True, help="Claude Code project folders (all held out)")
    rep.add_argument("--adapter", default="current", help="current (the promoted one, default) or a version")
    rep.add_argument("--limit", type=int, help="decision points replayed (default: eval.replay_points)")
    rep.add_argument("--json", action="store_true", help="print one JSON object")
    rep.set_defaults(run=_replay)
    # prune: old dataset, transcript and adapter versions nothing refers to (gastown_assets/prune.py)
    prune = sub.add_parser("prune", help="remove old versions no pointer, registry entry or the last N refer to")
    prune.add_argument("--keep", type=int, default=3, help="newest versions kept per role and kind (default 3)")
    prune.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    prune.set_defaults(run=_prune)
    _add_serve(sub)
    args = parser.parse_args(argv)
    return args.run(args)


def _prune(args) -> int:
    from gastown_assets.prune import prune
    from gastown_assets.settings import Settings
    from gastown_assets.storage import StoreError

    store = Settings.from_env().store
    try:
        plan = prune(store, args.keep, args.dry_run)
    except (ValueError, StoreError) as exc:
        print(f"prune: {exc}", file=sys.stderr)
        return 1
    print(f"{store.url}:")
    print("\n".join(plan.lines(args.dry_run)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
