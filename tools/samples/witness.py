"""Witness sessions: the rig patrol (survey polecats, peek and nudge the stuck, clean up the done)."""

from __future__ import annotations

from .common import Planted, fake_hf, seq, wisp_setup
from .convo import Convo, bash
from .vocab import POLECATS, PROMPT_HOOKS, STOP_HOOK, Rig, ago, bead_id, short_sha

WITNESS_STEPS = ("inbox-check", "survey-workers", "nudge-stuck", "cleanup-done", "report", "loop-or-exit")


def witness(c: Convo, rig: Rig, town: str, variant: str, planted: Planted) -> None:
    rnd = c.rnd
    c.human(
        rnd.choice(
            (
                f"[gt] {rig.name}/witness: patrol.",
                f"[gt] {rig.name}/witness: daemon tick, run your patrol.",
                "Start your patrol.",
            )
        ),
        hook_cmds=PROMPT_HOOKS[:1],
    )
    names = rnd.sample(POLECATS, rnd.randint(2, 3))
    states = [rnd.choices(("working", "stuck", "done", "idle"), (0.55, 0.15, 0.2, 0.1))[0] for _ in names]
    if variant in ("api_error", "secret_peek") and "stuck" not in states:
        states[0] = "stuck"
    done = [n for n, s in zip(names, states) if s == "done"]
    mail = (
        "No unread mail."
        if not done
        else "\n".join(
            f"  {i + 1}. [unread] POLECAT_DONE {n}  from {rig.name}/polecats/{n}  {ago(rnd)}"
            for i, n in enumerate(done)
        )
    )
    wisp = wisp_setup(
        c,
        rig.prefix,
        "mol-witness-patrol",
        f"{rig.name}/witness",
        len(WITNESS_STEPS),
        after=bash("gt mail inbox", "Check inbox", mail),
    )
    if rnd.random() < 0.15:
        c.step(
            None,
            bash(
                "bd mol current",
                "Show patrol steps",
                f"{wisp}  mol-witness-patrol\n"
                + "\n".join(f"  [{'>' if i == 1 else ' '}] {wisp}.{i}  {s}" for i, s in enumerate(WITNESS_STEPS, 1)),
            ),
        )
    c.step(None, bash(f"bd close {wisp}.1", "Close inbox-check", f"\u2713 Closed {wisp}.1: inbox-check"))
    rows = "\n".join(
        f"  {n:<9} {s:<8} {bead_id(rnd, rig.prefix) if s != 'idle' else '-':<8} last activity {rnd.randint(1, 59)}m ago"
        for n, s in zip(names, states)
    )
    c.step(
        rnd.choice(("Surveying polecats.", None)),
        bash(
            f"gt polecat list {rig.name}",
            "List polecats",
            f"Polecats in {rig.name}:\n  NAME      STATE    HOOK     ACTIVITY\n{rows}",
        ),
        thinking="Look at each polecat; peek before nudging.",
    )
    errored = False
    for n, s in zip(names, states):
        if s != "stuck":
            continue
        pane = "\u25cf Waiting for input...\n> \n  ? for shortcuts"
        if variant == "secret_peek" and not any(k == "hf_token" for _, k in planted.items):
            tok = planted.add(fake_hf(rnd), "hf_token")
            pane = (
                f'$ curl -s -H "Authorization: Bearer {tok}" https://huggingface.co/api/whoami-v2\n{{"error":"Invalid credentials in Authorization header"}}\n'
                + pane
            )
        c.step(f"{n} looks stuck. Peeking.", bash(f"gt peek {rig.name}/{n} 50", "Look at the polecat's pane", pane))
        if variant == "api_error" and not errored:
            c.s.api_error(529, "overloaded_error", "Overloaded")
            errored = True
            c.human(f"[gt] nudge from deacon: {rig.name}/witness patrol stalled, continue.")
        c.step(
            None,
            bash(
                f'gt nudge {rig.name}/{n} "You have hooked work. Run gt hook and continue, or gt done if finished."',
                "Nudge the stuck polecat",
                f"\u2713 Nudged {rig.name}/{n}",
            ),
        )
    cleaned, held = [], []
    for n in done:
        wt = f"{town}/{rig.name}/polecats/{n}"
        unpushed = rnd.random() < 0.15
        c.step(
            f"Verifying {n} is clean before cleanup.",
            bash(
                f"git -C {wt} status --porcelain && git -C {wt} log origin/main..HEAD --oneline",
                "Check for uncommitted or unpushed work",
                f"{short_sha(rnd)} work in progress" if unpushed else "",
            ),
        )
        if unpushed:
            c.step(
                f"{n} has commits that never reached the queue. Escalating instead of nuking.",
                bash(
                    f'gt mail send mayor/ -s "{rig.name}/{n}: unmerged commits" -m "{n} reported done but has local commits not in the merge queue. Leaving the worktree alone."',
                    "Escalate to the mayor",
                    "\u2713 Sent to mayor/",
                ),
            )
            held.append(n)
            continue
        cleaned.append(n)
        c.step(
            None,
            bash(
                f"gt polecat nuke {rig.name}/{n} --force",
                "Remove the finished polecat",
                f"\u2713 Nuked {rig.name}/{n} (worktree removed, session stopped)",
            ),
        )
    stuck = [n for n, s in zip(names, states) if s == "stuck"]
    summary = f"{len(names)} polecats; nudged {', '.join(stuck) or 'none'}; cleaned up {', '.join(cleaned) or 'none'}"
    if held:
        summary += f"; escalated {', '.join(held)} (unmerged commits)"
    seq(
        c,
        0.5,
        None,
        "Close the remaining steps and squash the wisp",
        bash(
            f"bd close {' '.join(f'{wisp}.{i}' for i in range(2, 7))}",
            "Close the remaining patrol steps",
            f"\u2713 Closed 5 steps ({wisp}.2 \u2026 {wisp}.6)",
        ),
        bash(f'bd mol squash {wisp} --summary="{summary}"', "Squash the patrol wisp", f"\u2713 Squashed {wisp}"),
    )
    c.end_turn(f"Patrol complete: {summary}.", STOP_HOOK)


# Generic inner monologue, used when a step brings no thought of its own.
THOUGHTS = (
    "Peek before nudging; never remove work that isn't pushed.",
    "One patrol step at a time, closing each.",
    "Use gt nudge to wake agents, not tmux send-keys.",
    "Anything I can't fix goes to the mayor.",
    "Patrol state lives in the wisp; squash it when done.",
)
