"""raw_transcripts: the role's sessions found under GASTOWN_SESSIONS_DIR."""

from dataclasses import dataclass

import dagster as dg

from gastown_assets.defs.partitions import ROLES
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.transcripts import find_session_files
from gastown_assets.transcripts.cache import ParseCache
from gastown_assets.transcripts.corpus import CorpusTally, collect_role, record_path


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
    rules = settings.project.role_rules()
    files = list(find_session_files(settings.sessions_roots))
    roots = ", ".join(map(str, settings.sessions_roots))
    if not files:
        raise dg.Failure(f"GASTOWN_SESSIONS_DIR: no *.jsonl transcript files under {roots}", allow_retries=False)
    context.log.info(f"{len(files)} transcript files under {roots}")
    tally, cache = CorpusTally(), ParseCache(settings.data_dir / "transcripts" / "cache")
    path = settings.role_dir("transcripts", role) / "sessions.jsonl"
    store = collect_role(files, role, rules, cache, path, tally)
    count, digest = store.sessions, store.digest
    context.log.info(f"parsed {cache.parsed} new or changed files, reused {cache.reused} from the cache")
    if count == 0:  # nothing to train on: stop here, not three assets later
        raise dg.Failure(
            f"{gastown.role(role).path}: role.sessions.cwd_patterns: no session under {roots} matched; "
            f"sessions per role: {dict(tally.sessions_by_role)}, unmatched: {tally.unmatched}",
            metadata={"unmatched_cwds": dg.MetadataValue.json(tally.unmatched_cwds)},
            allow_retries=False,
        )
    # On an object store: transcripts/<role>/<version>/sessions.jsonl, for the datasets run.
    uri = settings.store.publish(f"transcripts/{role}", digest[:16], [path.name, record_path(path).name])[path.name]
    return dg.Output(
        SessionIndex(role, uri, count, digest),
        data_version=dg.DataVersion(digest[:16]),
        metadata={
            "sessions": count,
            "path": dg.MetadataValue.path(uri),
            "files_scanned": len(files),
            "files_parsed": cache.parsed,
            "files_from_cache": cache.reused,
            "bytes_scanned": tally.bytes,
            "sessions_by_role": dg.MetadataValue.json(dict(tally.sessions_by_role)),
            "unmatched_sessions": tally.unmatched,
            "unmatched_cwds": dg.MetadataValue.json(tally.unmatched_cwds),
            "subagent_sessions": dg.MetadataValue.json(dict(tally.other_kinds)),
            "skipped": dg.MetadataValue.json(dict(tally.skipped)),
            "secrets_redacted": store.removed,
            "redacted_by_type_all_roles": dg.MetadataValue.json(dict(tally.redacted)),
            "sessions_roots": dg.MetadataValue.json([str(p) for p in settings.sessions_roots]),
        },
    )
