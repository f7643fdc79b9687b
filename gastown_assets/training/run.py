"""Train one adapter with Axolotl: `python -m gastown_assets.training.run CONFIG.yml`.

Runs on its own (a GPU box, a container) or launched by the lora_adapter asset. It is Axolotl's
own `train` entry point with the offline-safe environment this project needs.
"""

from __future__ import annotations

import os
import sys

OFFLINE_ENV = {
    "AXOLOTL_DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "WANDB_MODE": "disabled",
    "TOKENIZERS_PARALLELISM": "false",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m gastown_assets.training.run CONFIG.yml", file=sys.stderr)
        return 2
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    from axolotl.cli.train import do_cli

    sys.argv = [sys.argv[0]]  # Axolotl parses its own CLI flags from argv
    do_cli(config=args[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
