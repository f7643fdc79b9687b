"""retrain_on_new_sessions: request a role's whole chain when enough new transcripts arrived,
or when the role's config file changed. Off by default: turn it on in the UI (Automation)."""

import dagster as dg

from gastown_assets import settings as env
from gastown_assets.config import ConfigError
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.transcripts.watch import WatchState, latest_mtime_ns, retrain_requests, scan

# The role chain a retrain runs. base_model is in it so the run can load it (a no-op when the
# model is already built or cached); served_adapters so the run ends with the fleet manifest
# that serves what it promoted.
RETRAIN_CHAIN = dg.AssetSelection.assets(
    "base_model",
    "raw_transcripts",
    "train_dataset",
    "val_dataset",
    "lora_adapter",
    "eval_report",
    "promoted_adapter",
    "served_adapters",
)
INTERVAL_S = env.retrain_interval_s()


@dg.sensor(
    asset_selection=RETRAIN_CHAIN, minimum_interval_seconds=INTERVAL_S, default_status=dg.DefaultSensorStatus.STOPPED
)
def retrain_on_new_sessions(context: dg.SensorEvaluationContext, gastown: GastownConfig):
    """Counts new or changed sessions per role since its cursor (`retrain` in configs/base.yml or
    the role's file: min_new_sessions or min_new_bytes) and requests that role's partition of the
    chain, with a run_key naming the batch of new data so the same data never runs twice. The
    first tick only takes a baseline."""
    settings = gastown.settings
    try:
        roles = settings.project.roles()
        rules = settings.project.role_rules()
    except ConfigError as exc:
        return dg.SkipReason(f"config error, nothing requested: {exc}")
    thresholds = {name: (r.retrain.min_new_sessions, r.retrain.min_new_bytes) for name, r in roles.items()}
    digests = {name: role.digest for name, role in roles.items()}
    state = WatchState.from_json(context.cursor)
    if state is None:
        context.update_cursor(WatchState(latest_mtime_ns(settings.sessions_roots), {}, digests).to_json())
        return dg.SkipReason("baseline taken; later ticks count sessions from here")
    state = scan(settings.sessions_roots, rules, state)
    requests = [
        dg.RunRequest(partition_key=role, run_key=key, tags={"gastown/retrain_reason": reason})
        for role, key, reason in retrain_requests(state, thresholds, digests)
    ]
    context.update_cursor(state.to_json())
    waiting = {r: len(p.sessions) for r, p in state.pending.items() if p.sessions}
    return requests or dg.SkipReason(f"below thresholds; sessions waiting per role: {waiting}")
