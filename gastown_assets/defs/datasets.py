"""train_dataset / val_dataset: chat rows cut to the model's sequence_len, split by session,
with blocking checks that no secret and no shared session reached the written files."""

import dagster as dg

from gastown_assets.datasets.stage import RoleDatasets, build_role
from gastown_assets.defs.metadata import to_dagster
from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.defs.transcripts import SessionIndex
from gastown_assets.training.base_model import resolve_base_model


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
    settings, sessions = gastown.settings, raw_transcripts
    base = resolve_base_model(settings.project)
    out = build_role(
        settings.project,
        settings.store,
        context.partition_key,
        sessions.path,
        sessions.digest,
        base.name_or_path,
        base.digest,
    )
    for line in out.log_lines():
        context.log.info(line)
    for warning in out.warnings(sessions.sessions):
        context.log.warning(warning)
    for name, f in (("train_dataset", out.train), ("val_dataset", out.val)):
        metadata = to_dagster(out.metadata(f, sessions.digest, base.name_or_path))
        yield dg.Output(f, name, data_version=dg.DataVersion(f.digest[:16]), metadata=metadata)
    yield from _checks(out)


def _checks(out: RoleDatasets):
    """Blocking: a failure stops lora_adapter and everything after it."""
    found = dg.MetadataValue.json(dict(out.secrets_found))
    yield dg.AssetCheckResult(
        asset_key="train_dataset",
        check_name="no_secrets_in_datasets",
        passed=not out.secrets_found,
        metadata={"secrets_found_by_type": found},
    )
    yield dg.AssetCheckResult(
        asset_key="val_dataset",
        check_name="no_session_in_both_splits",
        passed=not out.sessions_in_both,
        metadata={"sessions_in_both": out.sessions_in_both},
    )
