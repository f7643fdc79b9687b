"""raw_transcripts: the role's sessions found under GASTOWN_SESSIONS_DIR."""

from dataclasses import dataclass

import dagster as dg

from gastown_assets.defs.metadata import to_dagster
from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.transcripts.collect import NoRoleSessions, NoTranscripts, collect


@dataclass(frozen=True)
class SessionIndex:
    """What downstream assets get: where the role's parsed sessions are, and their version."""

    role: str
    path: str
    sessions: int
    digest: str


@dg.asset(partitions_def=ROLES, group_name="transcripts", code_version="1")
def raw_transcripts(context: dg.AssetExecutionContext, gastown: GastownConfig) -> dg.Output[SessionIndex]:
    """Claude Code session files under GASTOWN_SESSIONS_DIR, parsed, keeping this role's
    sessions (tagged from each session's cwd by the rules in configs/roles/). Secrets are
    redacted as files are parsed: no copy we make holds one; what was removed is recorded as
    salted hashes with their contexts (removed_secrets.json) for the memorization probe."""
    role, settings = context.partition_key, gastown.settings
    rules, role_file = settings.project.role_rules(), settings.project.role_path(role)
    try:
        found = collect(role, settings.sessions_roots, rules, settings.store, role_file)
    except NoTranscripts as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    except NoRoleSessions as exc:
        raise dg.Failure(str(exc), metadata=to_dagster(exc.metadata), allow_retries=False) from None
    for line in found.log_lines():
        context.log.info(line)
    index = SessionIndex(role, found.path, found.sessions, found.digest)
    return dg.Output(index, data_version=dg.DataVersion(found.digest[:16]), metadata=to_dagster(found.metadata()))
