"""train_dataset / val_dataset: chat rows cut to the model's sequence_len, split by session."""


from pathlib import Path

import dagster as dg

from gastown_assets.datasets.build import BuildSpec, DatasetFile, build, chat_template_counter
from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.defs.transcripts import SessionIndex
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.config import dataset_spec, merged_axolotl
from gastown_assets.transcripts.store import read_stored_sessions


def _metadata(f: DatasetFile, upstream: SessionIndex, base: BaseModel) -> dict:
    return {
        "rows": f.rows, "sessions": f.sessions, "tokens": f.tokens,
        "path": dg.MetadataValue.path(f.path),
        "raw_transcripts_version": upstream.digest[:16],
        "tokenizer": base.name_or_path,
    }


@dg.multi_asset(
    partitions_def=ROLES,
    group_name="datasets",
    outs={
        "train_dataset": dg.AssetOut(description="Chat rows the adapter trains on (datasets/<role>/train.jsonl).", code_version="1"),
        "val_dataset": dg.AssetOut(description="Held-out chat rows from other sessions (datasets/<role>/val.jsonl).", code_version="1"),
    },
)
def role_datasets(context: dg.AssetExecutionContext, gastown: GastownConfig,
                  raw_transcripts: SessionIndex, base_model: BaseModel):
    """Render the role's sessions as OpenAI-style chat rows with the role's system prompt,
    cut by tokens to sequence_len, and split by a stable hash of the session id."""
    from transformers import AutoTokenizer

    settings, role = gastown.settings, gastown.role(context.partition_key)
    data = dataset_spec(settings.config_dir, role)
    axolotl = merged_axolotl(settings.config_dir, role, gastown.load_profile(), settings.data_dir)
    spec = BuildSpec(role.facts.system_prompt, data.val_fraction, data.split_salt,
                     data.max_tool_result_chars, data.min_assistant_turns, int(axolotl["sequence_len"]))
    tokenizer = AutoTokenizer.from_pretrained(base_model.name_or_path)
    out_dir = settings.role_dir("datasets", role.name)
    result = build(read_stored_sessions(Path(raw_transcripts.path)), spec, chat_template_counter(tokenizer), out_dir)
    context.log.info(f"train {result.train.rows} rows / val {result.val.rows} rows; dropped {dict(result.dropped)}")
    if result.val.rows == 0 or result.train.rows == 0:
        raise dg.Failure(
            f"{role.path}: dataset.val_fraction={data.val_fraction} left "
            f"train={result.train.rows} val={result.val.rows} rows from {raw_transcripts.sessions} "
            f"{role.name} sessions; both sets need rows (more sessions, or another split)"
        )
    dropped = dg.MetadataValue.json(dict(result.dropped))
    yield dg.Output(result.train, "train_dataset", data_version=dg.DataVersion(result.train.digest[:16]),
                    metadata={**_metadata(result.train, raw_transcripts, base_model), "dropped": dropped})
    yield dg.Output(result.val, "val_dataset", data_version=dg.DataVersion(result.val.digest[:16]),
                    metadata=_metadata(result.val, raw_transcripts, base_model))
