"""Deacon sessions: the town patrol, plus the deacon's dogs and the boot triage (all deacon cwds)."""

from __future__ import annotations

import json

from .common import Planted, fake_aws, seq, wisp_setup
from .convo import Convo, bash
from .vocab import PROMPT_HOOKS, RIGS, STOP_HOOK, ago

DEACON_STEPS = ("inbox-check", "health-scan", "orphan-check", "dispatch-dogs", "context-check", "loop-or-exit")


def deacon(c: Convo, town: str, variant: str, planted: Planted) -> None:
    rnd = c.rnd
    c.human(
        rnd.choice(("[gt] deacon: daemon tick. Patrol.", "[gt] deacon: heartbeat due.", "Run your patrol.")),
        hook_cmds=PROMPT_HOOKS[:1],
    )
    wisp = wisp_setup(
        c,
        "hq",
        "mol-deacon-patrol",
        "deacon",
        len(DEACON_STEPS),
        before=bash(
            "gt deacon heartbeat", "Record a heartbeat", f"\u2665 heartbeat recorded (patrol #{rnd.randint(2, 19)})"
        ),
        before_text=rnd.choice(("Heartbeat first.", None)),
    )
    if rnd.random() < 0.4:
        c.step(
            None,
            bash("bd ready", "Ready steps", "\n".join(f"  {wisp}.{i}  {s}" for i, s in enumerate(DEACON_STEPS[:2], 1))),
        )
    if rnd.random() < 0.2:
        c.step(
            None,
            bash(
                f"bd show {wisp}.1",
                "Show the step",
                f"{wisp}.1: inbox-check\nStatus: open\n\nRead mail. Handle LIFECYCLE and TIMER messages; delete what you handled.",
            ),
        )
    lifecycle = rnd.random() < 0.35
    mid = f"hq-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', 4)}"
    c.step(
        None,
        bash(
            "gt mail inbox",
            "Check inbox",
            f"  1. [unread] {mid}  LIFECYCLE: mayor restart requested  from mayor/  {ago(rnd)}"
            if lifecycle
            else "No unread mail.",
        ),
    )
    if lifecycle:
        c.step(
            None,
            bash(
                f"gt mail read {mid}",
                "Read it",
                "From: mayor/\nSubject: LIFECYCLE: mayor restart requested\n\nContext is nearly full. Restart me after the handoff note is written.",
            ),
        )
        c.step(
            "Restarting the mayor.",
            bash(
                "gt mayor stop && gt mayor start",
                "Cycle the mayor session",
                "\u2713 mayor stopped\n\u2713 mayor started (hq-mayor)",
            ),
            thinking="LIFECYCLE request from mayor: cycle it, then delete the mail.",
        )
        c.step(None, bash(f"gt mail delete {mid}", "Delete handled mail", f"\u2713 Deleted {mid}"))
    c.step(None, bash(f"bd close {wisp}.1", "Close inbox-check", f"\u2713 Closed {wisp}.1: inbox-check"))
    c.step(
        rnd.choice(("Health scan.", None)),
        bash(
            "gt status",
            "Town overview",
            "\n".join(
                f"{r.name:<14} witness {rnd.choice(('up', 'up', 'up', 'DOWN'))}  refinery up  polecats {rnd.randint(0, 4)}"
                for r in RIGS
            ),
        ),
    )
    seq(
        c,
        0.5,
        None,
        "Close the scan steps and squash the wisp",
        bash(
            f"bd close {wisp}.2 {wisp}.3 {wisp}.4 {wisp}.5",
            "Close the scan steps",
            f"\u2713 Closed 4 steps ({wisp}.2 \u2026 {wisp}.5)",
        ),
        bash(
            f'bd mol squash {wisp} --summary="patrol ok' + ("; cycled mayor" if lifecycle else "") + '"',
            "Squash the wisp",
            f"\u2713 Squashed {wisp}",
        ),
    )
    c.end_turn("Patrol cycle complete." + (" Mayor restarted on request." if lifecycle else ""), STOP_HOOK)


DOG_JOBS = ("reap", "backup", "cleanup")


def dog(c: Convo, town: str, dog_name: str, variant: str, planted: Planted) -> None:
    rnd = c.rnd
    job = "backup" if variant == "secret_env" else rnd.choice(DOG_JOBS)
    bid = f"hq-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', 4)}"
    title = {
        "reap": "Reap stale wisps in the town db",
        "backup": "Nightly dolt backup",
        "cleanup": "Dolt cleanup after rig removal",
    }[job]
    c.human(f"[gt] deacon/dogs/{dog_name}: assignment from deacon.", hook_cmds=PROMPT_HOOKS[:1])
    c.step(
        "Checking my hook.",
        bash("gt hook", "Check hooked work", f"\U0001fa9d Hooked: {bid} \u2014 {title}\n   assigned by: deacon"),
    )
    c.step(
        None,
        bash(
            f"bd show {bid}", "Show the assignment", f"{bid}: {title}\nStatus: hooked\nAssignee: deacon/dogs/{dog_name}"
        ),
    )
    if job == "reap":
        n = rnd.randint(0, 40)
        c.step(
            None,
            bash(
                "gt reaper scan --db=hq --port=3307 --json",
                "Count candidates",
                json.dumps({"db": "hq", "stale_wisps": n, "closed_older_than_days": 7}),
            ),
        )
        if n:
            c.step(
                None,
                bash("gt reaper reap --db=hq --port=3307 --json", "Reap them", json.dumps({"db": "hq", "reaped": n})),
            )
        done = f"reaped {n} stale wisps"
    elif job == "backup":
        if variant == "secret_env":
            key = planted.add(fake_aws(rnd), "aws_access_key_id")
            c.step(
                "Checking the backup credentials are present.",
                bash(
                    "env | grep -E 'AWS|BACKUP'",
                    "Check backup env",
                    f"AWS_ACCESS_KEY_ID={key}\nAWS_DEFAULT_REGION=us-east-1\nBACKUP_BUCKET=s3://acme-gt-backups",
                ),
            )
        c.step(
            None,
            bash("dolt backup sync origin", "Sync the backup", "Uploaded 14 chunks\nbackup origin in sync"),
        )
        c.step(None, bash("gt dolt status", "Check dolt", "dolt sql-server: running (port 3307)\nbackup: in sync"))
        done = "backup synced"
    else:
        c.step(
            None, bash("gt dolt cleanup", "Clean up orphaned dbs", f"removed {rnd.randint(1, 3)} orphaned databases")
        )
        done = "dolt cleanup done"
    c.step(None, bash(f'gt nudge deacon/ "DOG_DONE: {bid} {done}"', "Report to the deacon", "\u2713 Nudged deacon/"))
    c.step(None, bash("gt dog done", "Return to idle", f"\u2713 {dog_name} back to idle"))
    c.end_turn(f"{bid}: {done}. Back to idle.", STOP_HOOK)


def boot(c: Convo, town: str, variant: str, planted: Planted) -> None:
    rnd = c.rnd
    c.human("[gt] boot: triage tick.", hook_cmds=PROMPT_HOOKS[:1])
    alive = rnd.random() < 0.8
    c.step(
        rnd.choice(("Checking boot state.", None)),
        bash(
            "gt boot status",
            "Boot status",
            f"boot: last triage {rnd.randint(3, 12)}m ago (decision: NOTHING)\ndeacon session: hq-deacon",
        ),
    )
    c.step(
        "Is the deacon alive?",
        bash(
            "tmux has-session -t hq-deacon && echo alive",
            "Check the deacon session",
            "alive" if alive else "can't find session: hq-deacon",
            exit_code=0 if alive else 1,
        ),
    )
    if not alive:
        c.step(
            None,
            bash(
                "bd show hq-deacon",
                "Deacon agent bead",
                f"hq-deacon: deacon\nStatus: running\nLast heartbeat: {rnd.randint(20, 90)}m ago",
            ),
        )
        c.step(
            "No session but the bead says running. Degraded triage.",
            bash("gt boot triage --degraded", "Degraded triage", "decision: START\n\u2713 deacon session started"),
        )
        c.end_turn("Deacon session was missing; started it.", STOP_HOOK)
        return
    idle = rnd.randint(1, 40)
    c.step(
        None,
        bash(
            "gt peek deacon --lines 20",
            "Look at the deacon's pane",
            f"\u25cf Patrol cycle complete.\n> \n(idle {idle}m)",
        ),
    )
    c.step(
        None,
        bash(
            "gt feed --since 10m",
            "Recent activity",
            "" if idle > 15 else f"{rnd.randint(1, 9)}m ago  deacon  heartbeat",
        ),
    )
    if idle > 15:
        c.step(
            "Deacon idle too long. Nudging.",
            bash(
                'gt nudge deacon "Boot: no heartbeat in 15m. Run your patrol."',
                "Nudge the deacon",
                "\u2713 Nudged deacon",
            ),
        )
        c.end_turn("Decision: NUDGE.", STOP_HOOK)
    else:
        c.end_turn("Decision: NOTHING. Deacon is healthy.", STOP_HOOK)


# Generic inner monologue, used when a step brings no thought of its own.
THOUGHTS = (
    "Patrol steps in order; squash the wisp at the end.",
    "Handle LIFECYCLE mail before anything else.",
    "Keep the heartbeat fresh so boot doesn't wake me.",
    "Town-level only; rig problems belong to the witnesses.",
    "Keep the patrol moving; one cycle, then squash.",
)

DOG_THOUGHTS = (
    "Work only what's on my hook; no looking for extra tasks.",
    "Report to the deacon with a nudge, never with mail.",
    "Always finish with gt dog done.",
    "Read the assignment, then run the formula.",
)

BOOT_THOUGHTS = (
    "Observe first, then pick the smallest action that helps.",
    "Only nudge if the deacon has been idle too long.",
    "Boot is short-lived: decide and exit.",
)
