"""train_dataset / val_dataset: chat rows cut to the model's sequence_len, split by session,
with blocking checks that no secret and no shared session reached the written files."""

import dataclasses
import hashlib
from pathlib import Path

import dagster as dg

from gastown_assets.datasets.build import DatasetFile, build, spec_for
from gastown_assets.datasets.checks import scan_file, sessions_in_both
from gastown_assets.datasets.tokens import chat_token_counter
from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.defs.transcripts import SessionIndex
from gastown_assets.training.base_model import BaseModel, resolve_base_model
from gastown_assets.transcripts.store import read_stored_lines


def _metadata(f: DatasetFile, upstream: SessionIndex, base: BaseModel) -> dict:
    return {
        "rows": f.rows,
        "sessions": f.sessions,
        "tokens": f.tokens,
        "path": dg.MetadataValue.path(f.path),
        "raw_transcripts_version": upstream.digest[:16],
        "tokenizer": base.name_or_path,
    }


@dg.multi_asset(
    partitions_def=ROLES,
    group_name="datasets",
    outs={
        "train_dataset": dg.AssetOut(
            description="Chat rows the adapter trains on (datasets/<role>/train.jsonl).", code_version="2"
        ),
        "val_dataset": dg.AssetOut(
            description="Held-out chat rows from other sessions (datasets/<role>/val.jsonl).", code_version="2"
        ),
    },
    deps=["base_model"],  # its tokenizer counts tokens; resolved directly so a selection without it works
    check_specs=[
        dg.AssetCheckSpec(
            "no_secrets_in_datasets",
            asset="train_dataset",
            blocking=True,
            description="Re-scan the written train.jsonl and val.jsonl: no secret may remain.",
        ),
        dg.AssetCheckSpec(
            "no_session_in_both_splits",
            asset="val_dataset",
            blocking=True,
            description="No session id may appear in both train.jsonl and val.jsonl.",
        ),
    ],
)
def role_datasets(context: dg.AssetExecutionContext, gastown: GastownConfig, raw_transcripts: SessionIndex):
    """Render the role's sessions as OpenAI-style chat rows with the role's system prompt,
    redact secrets, cut by tokens to sequence_len, drop low-quality and duplicate rows, and
    split by a stable hash of the session id."""
    role = context.partition_key
    settings = gastown.settings
    base_model = resolve_base_model(settings.project)
    spec = spec_for(settings.project, role, base_model.digest)
    out_dir = settings.role_dir("datasets", role)
    store = settings.store
    result = build(
        read_stored_lines(store.stage(raw_transcripts.path)),
        spec,
        chat_token_counter(base_model.name_or_path),
        out_dir,
        input_digest=raw_transcripts.digest,
    )
    train_path, val_path = Path(result.train.path), Path(result.val.path)
    context.log.info(
        f"train {result.train.rows} rows / val {result.val.rows} rows; sessions rebuilt "
        f"{result.cache_misses}, from cache {result.cache_hits}; dropped {dict(result.dropped)}; "
        f"duplicates {dict(result.duplicates)}; redacted {sum(result.redacted.values())} secrets"
    )
    if result.val.rows == 0 or result.train.rows == 0:
        context.log.warning(
            f"{role}: train {result.train.rows} / val {result.val.rows} rows from "
            f"{raw_transcripts.sessions} sessions; training needs both"
        )
    shared = {
        "dropped": dg.MetadataValue.json(dict(result.dropped)),
        "duplicates": dg.MetadataValue.json(dict(result.duplicates)),
        "redacted_by_type": dg.MetadataValue.json(dict(result.redacted)),
        "sessions_rebuilt": result.cache_misses,
        "sessions_from_cache": result.cache_hits,
    }
    # On an object store both files go under datasets/<role>/<version>/ before LATEST moves.
    version = hashlib.sha256(f"{result.train.digest}|{result.val.digest}".encode()).hexdigest()[:16]
    uris = store.publish(f"datasets/{role}", version, [train_path.name, val_path.name])
    for name, f in (("train_dataset", result.train), ("val_dataset", result.val)):
        f = dataclasses.replace(f, path=uris[Path(f.path).name])
        yield dg.Output(
            f,
            name,
            data_version=dg.DataVersion(f.digest[:16]),
            metadata={**_metadata(f, raw_transcripts, base_model), **shared},
        )
    yield from _checks(train_path, val_path)  # the bytes just published


def _checks(train: Path, val: Path):
    """Blocking: a failure stops lora_adapter and everything after it."""
    found = scan_file(train) + scan_file(val)
    yield dg.AssetCheckResult(
        asset_key="train_dataset",
        check_name="no_secrets_in_datasets",
        passed=not found,
        metadata={"secrets_found_by_type": dg.MetadataValue.json(dict(found))},
    )
    both = sessions_in_both(train, val)
    yield dg.AssetCheckResult(
        asset_key="val_dataset",
        check_name="no_session_in_both_splits",
        passed=not both,
        metadata={"sessions_in_both": len(both)},
    )
