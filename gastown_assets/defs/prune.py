"""prune_old_versions: `gastown prune` as a job, and a weekly schedule for it (off by default:
turn it on under Automation in the UI, or `dagster schedule start prune_weekly`)."""

import dagster as dg

from gastown_assets.defs.resources import GastownConfig
from gastown_assets.prune import prune


class PruneConfig(dg.Config):
    keep: int = 3  # newest versions kept per role and kind, besides those a pointer or registry names
    dry_run: bool = False


@dg.op(description="Remove old transcript, dataset and adapter versions nothing refers to (gastown prune).")
def prune_old_versions(context: dg.OpExecutionContext, config: PruneConfig, gastown: GastownConfig) -> None:
    plan = prune(gastown.settings.store, config.keep, config.dry_run)
    for line in plan.lines(config.dry_run):
        context.log.info(line)


@dg.job(description="gastown prune: old versions no pointer, registry entry or the newest N refer to.")
def prune_job():
    prune_old_versions()


prune_weekly = dg.ScheduleDefinition(
    name="prune_weekly",
    job=prune_job,
    cron_schedule="0 4 * * 0",  # Sundays 04:00
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="gastown prune --keep 3, weekly. Off until started.",
)
