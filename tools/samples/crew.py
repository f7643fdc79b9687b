"""Crew sessions: claim a bead, change the code, land it straight on main."""

from __future__ import annotations

import json

from .common import (
    Planted,
    PolecatJob,
    apply_edits,
    fake_anthropic,
    fake_github,
    git_commit_out,
    read_around,
    run_tests,
    seq,
    start_hooks,
    write_test,
)
from .convo import Convo, bash, edit, write
from .tasks import tasks_for
from .vocab import STOP_HOOK, Rig, ago, bead_id, remote, short_sha

CREW_ASKS = (
    "morning. anything for me?",
    "pick up {bead} please",
    "[gt] {rig}/crew/{name}: session start.",
    "can you grab something from bd ready and land it?",
)


def crew(c: Convo, rig: Rig, name: str, town: str, variant: str, planted: Planted) -> None:
    rnd = c.rnd
    wt = c.s.cwd
    t = rnd.choice(tasks_for(rig))
    bid = bead_id(rnd, rig.prefix)
    addr = f"{rig.name}/crew/{name}"
    c.human(rnd.choice(CREW_ASKS).format(bead=bid, rig=rig.name, name=name), hook_cmds=start_hooks(rnd))
    seq(
        c,
        0.6,
        rnd.choice(("Checking my hook and mail.", None)),
        "Check hook and inbox",
        bash("gt hook", "Check hooked work", "Nothing on hook."),
        bash(
            "gt mail inbox",
            "Check inbox",
            "No unread mail."
            if rnd.random() < 0.6
            else f"  1. [unread] hq-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', 4)}  FYI: release freeze Friday  from mayor/  {ago(rnd)}",
        ),
    )
    others = [bead_id(rnd, rig.prefix) for _ in range(rnd.randint(1, 3))]
    if rnd.random() < 0.25:
        c.step(
            None,
            bash(
                "bd ready",
                "Ready work",
                "\n".join([f"  {bid}  P2  {t.title}"] + [f"  {o}  P3  (other)" for o in others]),
            ),
        )
    c.step(f"Claiming {bid}.", bash(f"bd update {bid} --claim", "Claim the bead", f"\u2713 Claimed {bid} ({addr})"))
    c.step(None, read_around(rnd, f"{wt}/{t.path}", t.original, t.edits[0][0]))
    if variant == "secret_json":
        key = planted.add(fake_anthropic(rnd), "anthropic_api_key_in_json")
        cfg = json.dumps(
            {
                "env": "dev",
                "llm": {"provider": "anthropic", "api_key": key, "model": "claude-sonnet-4-5"},
                "log_level": "debug",
            },
            indent=2,
        )
        c.step("Adding a local config so the summary job can run here.", write(f"{wt}/config/local.json", cfg + "\n"))
    if variant == "secret_env":
        tok = planted.add(fake_github(rnd), "github_token")
        c.step(
            "gh says I'm unauthenticated; checking which token is in the env.",
            bash("env | grep -i token", "Show token env vars", f"GITHUB_TOKEN={tok}\nGT_NUDGE_TOKEN=local"),
        )
    for i, (old, new) in enumerate(t.edits):
        c.step("Making the change." if i == 0 else None, edit(f"{wt}/{t.path}", apply_edits(t, i), old, new))
    job = PolecatJob(rig, name, wt, bid, bid, "main", t, addr)
    wrote_test = rnd.random() < 0.25
    if wrote_test:
        write_test(c, job, text=None)
    run_tests(
        c,
        rig,
        t,
        text=rnd.choice(("Running tests.", None)),
        thinking="This goes straight to main, so it has to be green here.",
    )
    a, b = short_sha(rnd), short_sha(rnd)
    committed = git_commit_out(
        rnd, "main", t, f"{t.commit} ({bid})", wrote_test, b, 1 if variant == "secret_json" else 0
    )
    landed = (
        rnd.choice(("Current branch main is up to date.", "Successfully rebased and updated refs/heads/main."))
        + f"\nTo {remote(rig)}\n   {a}..{b}  main -> main"
    )
    close = bash(f"bd close {bid}", "Close the bead", f"\u2713 Closed {bid}")
    if rnd.random() < 0.35:
        c.step("Committing.", bash(f'git add -A && git commit -m "{t.commit} ({bid})"', "Commit", committed))
        seq(
            c,
            0.4,
            "Landing it: rebase on main and push.",
            "Rebase, push and close the bead",
            bash("git pull --rebase && git push", "Rebase on origin/main and push", landed),
            close,
        )
    else:
        seq(
            c,
            0.4,
            "Landing it: commit, rebase on main, push.",
            "Commit, rebase, push to main and close the bead",
            bash(
                f'git add -A && git commit -m "{t.commit} ({bid})" && git pull --rebase && git push',
                "Commit, rebase and push to main",
                committed + "\n" + landed,
            ),
            close,
        )
    c.end_turn(f"{bid} landed on main ({b}) and closed.", STOP_HOOK)
    if rnd.random() < 0.2:
        c.human("thanks. let the witness know the fix is on main so polecats rebase")
        c.step(
            None,
            bash(
                f'gt nudge {rig.name}/witness "{bid} landed on main ({b}); polecats touching {t.path} should rebase."',
                "Nudge the witness",
                f"\u2713 Nudged {rig.name}/witness",
            ),
        )
        c.end_turn("Told the witness.", STOP_HOOK)


# Generic inner monologue, used when a step brings no thought of its own.
THOUGHTS = (
    "Crew pushes straight to main, so rebase before pushing.",
    "Claim before working so nobody else picks it up.",
    "Land the plane: tests, commit, push, close the bead.",
    "Small, focused change; the human can ask for more.",
    "Check the output before the next step.",
)
