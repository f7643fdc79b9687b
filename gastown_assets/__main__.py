"""Command line: `python -m gastown_assets pull-adapter ROLE [DEST] [--version V]`.

The data dir is GASTOWN_DATA_DIR (a folder, or s3://bucket/prefix with the standard AWS_*
variables; AWS_ENDPOINT_URL for an S3-compatible store), as for the Dagster assets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gastown_assets")
    sub = parser.add_subparsers(dest="command", required=True)
    pull = sub.add_parser("pull-adapter", help="download a role's promoted (or a named) adapter")
    pull.add_argument("role")
    pull.add_argument("dest", nargs="?", type=Path, help="folder to create (default ./<role>-<version>)")
    pull.add_argument("--version", help="an adapter version from the role's registry (default: promoted)")
    args = parser.parse_args(argv)

    from gastown_assets.pull import PullError, pull_adapter
    from gastown_assets.settings import Settings

    store = Settings.from_env().store
    try:
        dest = pull_adapter(store, args.role, args.dest, args.version)
    except PullError as exc:
        print(f"pull-adapter: {exc}", file=sys.stderr)
        return 1
    print(dest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
