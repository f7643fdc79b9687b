"""Write the embedded sample transcripts: synthetic Gas Town sessions.

    python -m tools.samples.generate [OUT_DIR] [--secrets PATH]    # from the repository root

OUT_DIR defaults to ``gastown_assets/samples/sessions`` (the package's ``SESSIONS_DIR``).
The list of planted fake secrets goes to ``OUT_DIR/../planted_secrets.json``
unless ``--secrets`` says otherwise. Output is a pure function of ``SEED``:
running it twice gives the same bytes. OUT_DIR is replaced atomically (written
to a temporary sibling, then renamed into place).

Layout, as Claude Code writes it: ``<OUT_DIR>/<escaped-cwd>/<sessionId>.jsonl``
where escaped-cwd is the cwd with every character outside ``[A-Za-z0-9]``
replaced by ``-``; subagent transcripts go to
``<escaped-cwd>/<sessionId>/subagents/agent-<id>.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gastown_assets.samples import SESSIONS_DIR

from . import crew, deacon, mayor, other, polecat, refinery, witness
from .common import Planted, polecat_job
from .convo import Convo
from .transcript import Rand, Session
from .vocab import CREW, DOGS, POLECATS, RIGS, TOWNS, VERSIONS, slug

SEED = 20260112
DEFAULT_OUT = SESSIONS_DIR
BASE_TIME = datetime(2026, 1, 12, 7, 30, tzinfo=UTC)

COUNTS = {"polecat": 80, "crew": 30, "mayor": 20, "deacon": 20, "witness": 20, "refinery": 20, "none": 2}

# Special variants: (role, index within role) -> variant. Everything else is
# drawn from the role's usual mix.
SPECIAL = {
    ("polecat", 3): "secret_env",
    ("polecat", 11): "subagent",
    ("polecat", 17): "compact",
    ("crew", 4): "secret_json",
    ("crew", 19): "secret_env",
    ("mayor", 6): "secret_mail",
    ("witness", 2): "api_error",
    ("witness", 9): "secret_peek",
    ("refinery", 5): "secret_remote",
    ("refinery", 12): "gate_fail",
    ("deacon", 14): "dog_secret",
}


def escape_cwd(cwd: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


@dataclass
class Spec:
    role: str
    index: int
    variant: str
    cwd: str
    branch: str
    extra: dict[str, Any]


def _plan(rnd: Rand) -> list[Spec]:
    specs: list[Spec] = []
    for role, n in COUNTS.items():
        for i in range(n):
            town = rnd.choice(TOWNS)
            rig = rnd.choice(RIGS)
            variant = SPECIAL.get((role, i), "normal")
            extra: dict[str, Any] = {"town": town, "rig": rig}
            if role == "polecat":
                if variant == "normal":
                    variant = rnd.choices(("normal", "tdd", "no_changes", "blocked"), (0.6, 0.12, 0.15, 0.13))[0]
                name = rnd.choice(POLECATS)
                wt = f"{town}/{rig.name}/polecats/{name}"
                if rnd.random() < 0.25:
                    wt += f"/{rig.name}"
                job = polecat_job(rnd, rig, name, wt)
                extra["job"] = job
                specs.append(Spec(role, i, variant, wt, job.branch, extra))
            elif role == "crew":
                name = rnd.choice(CREW)
                extra["name"] = name
                specs.append(Spec(role, i, variant, f"{town}/{rig.name}/crew/{name}", "main", extra))
            elif role == "mayor":
                specs.append(Spec(role, i, variant, f"{town}/mayor", "main", extra))
            elif role == "deacon":
                # 13 deacon patrols, 4 dogs, 3 boot triages
                if i < 13:
                    specs.append(Spec(role, i, variant, f"{town}/deacon", "main", extra))
                elif i < 17:
                    dog = DOGS[(i - 13) % len(DOGS)]
                    extra["dog"] = dog
                    v = "secret_env" if variant == "dog_secret" else "normal"
                    specs.append(Spec(role, i, "dog:" + v, f"{town}/deacon/dogs/{dog}", "main", extra))
                else:
                    specs.append(Spec(role, i, "boot", f"{town}/deacon/dogs/boot", "main", extra))
            elif role == "witness":
                specs.append(Spec(role, i, variant, f"{town}/{rig.name}/witness", "main", extra))
            elif role == "refinery":
                specs.append(Spec(role, i, variant, f"{town}/{rig.name}/refinery/rig", "main", extra))
            else:
                specs.append(Spec(role, i, "other", "/home/sam/projects/notes", "main", extra))
    return specs


# Generic inner monologue per kind of session (a deacon's dogs and boot have their own).
THOUGHTS = {
    "polecat": polecat.THOUGHTS,
    "crew": crew.THOUGHTS,
    "mayor": mayor.THOUGHTS,
    "witness": witness.THOUGHTS,
    "refinery": refinery.THOUGHTS,
    "dog": deacon.DOG_THOUGHTS,
    "boot": deacon.BOOT_THOUGHTS,
    "deacon": deacon.THOUGHTS,
}


def _run(spec: Spec, c: Convo, planted: Planted) -> None:
    e = spec.extra
    if spec.role == "polecat":
        polecat.polecat(c, e["job"], spec.variant, planted)
    elif spec.role == "crew":
        crew.crew(c, e["rig"], e["name"], e["town"], spec.variant, planted)
    elif spec.role == "mayor":
        mayor.mayor(c, e["town"], spec.variant, planted)
    elif spec.role == "witness":
        witness.witness(c, e["rig"], e["town"], spec.variant, planted)
    elif spec.role == "refinery":
        refinery.refinery(c, e["rig"], e["town"], spec.variant, planted)
    elif spec.role == "deacon":
        if spec.variant.startswith("dog:"):
            deacon.dog(c, e["town"], e["dog"], spec.variant[4:], planted)
        elif spec.variant == "boot":
            deacon.boot(c, e["town"], spec.variant, planted)
        else:
            deacon.deacon(c, e["town"], spec.variant, planted)
    else:
        other.other_project(c, spec.index)


def dumps(rec: dict[str, Any]) -> str:
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":"))


def build(seed: int = SEED) -> tuple[dict[str, bytes], list[dict[str, str]]]:
    """Return {relative path: file bytes} and the planted-secret list (another seed gives
    another corpus of the same shape: the benchmarks use that)."""
    master = Rand(seed)
    specs = _plan(master)
    files: dict[str, bytes] = {}
    secrets: list[dict[str, str]] = []
    for spec in specs:
        rnd = Rand(master.getrandbits(64))
        sid = master.uuid4()
        start = BASE_TIME + timedelta(seconds=master.randint(0, 40 * 86400))
        sess = Session(
            rnd,
            cwd=spec.cwd,
            session_id=sid,
            version=rnd.choice(VERSIONS),
            git_branch=spec.branch,
            start=start,
            slug=slug(rnd) if rnd.random() < 0.1 else None,
        )
        convo = Convo(sess)
        kind = spec.variant.split(":")[0] if spec.variant in ("boot",) or spec.variant.startswith("dog:") else spec.role
        convo.thoughts = THOUGHTS.get(kind, ())
        planted = Planted()
        _run(spec, convo, planted)
        records = sess.records
        if rnd.random() < 0.1:
            records = [{"type": "summary", "summary": _summary_title(spec), "leafUuid": sess.last_uuid}] + records
        rel = f"{escape_cwd(spec.cwd)}/{sid}.jsonl"
        if rel in files:
            raise RuntimeError(f"duplicate session path {rel}")
        files[rel] = _jsonl(records)
        for sub in sess.subagents:
            files[f"{escape_cwd(spec.cwd)}/{sid}/subagents/agent-{sub.agent_id}.jsonl"] = _jsonl(sub.records)
        for value, kind in planted.items:
            secrets.append({"value": value, "kind": kind, "file": rel, "role": spec.role})
    return files, secrets


def _summary_title(spec: Spec) -> str:
    return {
        "polecat": "Polecat implements hooked bead and runs gt done",
        "crew": "Crew claims bead, lands fix on main",
        "mayor": "Mayor files beads and slings work",
        "deacon": "Deacon patrol cycle",
        "witness": "Witness patrol: survey, nudge, cleanup",
        "refinery": "Refinery merge queue patrol",
    }.get(spec.role, "Notes housekeeping")


def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return ("\n".join(dumps(r) for r in records) + "\n").encode("utf-8")


def write(out_dir: Path, secrets_path: Path | None = None) -> tuple[int, int]:
    """Generate into ``out_dir`` (replaced atomically). Returns (files, bytes)."""
    out_dir = Path(out_dir).resolve()
    secrets_path = Path(secrets_path) if secrets_path else out_dir.parent / "planted_secrets.json"
    files, secrets = build()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    total = 0
    for rel, data in sorted(files.items()):
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
    stmp = secrets_path.with_name(f".{secrets_path.name}.tmp-{os.getpid()}")
    stmp.write_text(json.dumps(secrets, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(stmp, secrets_path)
    return len(files), total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", nargs="?", default=str(DEFAULT_OUT))
    ap.add_argument("--secrets", default=None, help="where to write planted_secrets.json (default: next to OUT_DIR)")
    args = ap.parse_args(argv)
    n, size = write(Path(args.out_dir), Path(args.secrets) if args.secrets else None)
    print(f"wrote {n} files, {size} bytes to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
