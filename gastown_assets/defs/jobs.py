"""Jobs an operator backfills across roles: `dagster job backfill -j build_datasets --all all`."""

import dagster as dg

from gastown_assets.defs.partitions import ROLES

# Transcripts to train/val files for a role, without training (base_model must exist).
build_datasets_job = dg.define_asset_job(
    "build_datasets",
    selection=dg.AssetSelection.assets("raw_transcripts", "train_dataset", "val_dataset"),
    partitions_def=ROLES,
    description="Parse transcripts and build one role's train/val files.",
)

# One role's adapter on its current datasets; runs of several roles queue their training steps
# in the `gpu` pool (one at a time where the instance limits the pool to 1, as infra/ does).
train_adapter_job = dg.define_asset_job(
    "train_adapter",
    selection=dg.AssetSelection.assets("lora_adapter"),
    partitions_def=ROLES,
    description="Train one role's adapter on its current datasets.",
)
