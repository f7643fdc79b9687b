"""Refinery sessions: the merge-queue patrol (rebase, test, fast-forward main, or bounce/file)."""

from __future__ import annotations

from .common import Planted, fake_github, polecat_job, run_tests, seq, wisp_setup
from .convo import Convo, bash
from .vocab import POLECATS, PROMPT_HOOKS, STOP_HOOK, Rig, ago, bead_id, remote, short_sha

REFINERY_STEPS = (
    "inbox-check",
    "queue-scan",
    "process-branch",
    "run-tests",
    "handle-failures",
    "merge-push",
    "loop-check",
    "generate-summary",
    "context-check",
    "burn-or-loop",
)


def refinery(c: Convo, rig: Rig, town: str, variant: str, planted: Planted) -> None:
    rnd = c.rnd
    c.human(
        rnd.choice(
            (
                f"[gt] {rig.name}/refinery: patrol. Run your hook.",
                "Merge queue has new branches. Start your patrol.",
                f"[gt] nudge from {rig.name}/witness: MERGE_READY waiting.",
            )
        ),
        hook_cmds=PROMPT_HOOKS[:1],
    )
    n = rnd.choice((0, 1, 1, 2)) or (1 if variant == "gate_fail" else 0)
    jobs = [polecat_job(rnd, rig, rnd.choice(POLECATS), "") for _ in range(n)]
    mail = (
        "No unread mail."
        if not jobs or rnd.random() < 0.4
        else "\n".join(
            f"  {i + 1}. [unread] MERGE_READY {j.branch}  from {rig.name}/witness  {ago(rnd)}"
            for i, j in enumerate(jobs)
        )
    )
    wisp = wisp_setup(
        c,
        rig.prefix,
        "mol-refinery-patrol",
        f"{rig.name}/refinery",
        len(REFINERY_STEPS),
        after=bash("gt mail inbox", "Check inbox", mail),
    )
    if variant == "secret_remote":
        tok = planted.add(fake_github(rnd), "github_token")
        url = f"https://x-access-token:{tok}@github.com/acme/{rig.name}.git"
        c.step(
            "Push failed earlier this week; checking the remote config.",
            bash("git remote -v", "Show remotes", f"origin\t{url} (fetch)\norigin\t{url} (push)"),
        )
    if jobs:
        q = "\n".join(
            f'  {i + 1}. {j.branch:<28} {j.bead:<8} "{j.task.title}"  ({j.name}, {ago(rnd)})'
            for i, j in enumerate(jobs)
        )
        q = f"Merge queue for {rig.name} ({len(jobs)}):\n{q}"
    else:
        q = f"Merge queue for {rig.name} is empty."
    c.step(
        rnd.choice(("Reading the merge queue.", None)),
        bash(f"gt mq list {rig.name}", "List the merge queue", q),
        thinking="Queue comes from gt mq list only.",
    )
    c.step(
        None,
        bash(
            f"bd close {wisp}.1 {wisp}.2",
            "Close inbox-check and queue-scan",
            f"\u2713 Closed {wisp}.1: inbox-check\n\u2713 Closed {wisp}.2: queue-scan",
        ),
    )
    merged, bounced, filed = [], [], []
    for k, j in enumerate(jobs):
        outcome = rnd.choices(("merge", "conflict", "fail"), (0.7, 0.18, 0.12))[0]
        if variant == "gate_fail" and k == 0:
            outcome = "fail"
        c.step(
            f"Processing {j.branch}.",
            bash(
                f"git fetch origin && git checkout -B merge-tmp origin/{j.branch} && git rebase origin/main",
                "Rebase the branch on main",
                f'CONFLICT (content): Merge conflict in {j.task.path}\nerror: could not apply {short_sha(rnd)}... {j.task.commit}\nhint: Resolve all conflicts manually, mark them with "git add", then run "git rebase --continue".'
                if outcome == "conflict"
                else "Successfully rebased and updated refs/heads/merge-tmp.",
                exit_code=1 if outcome == "conflict" else 0,
            ),
        )
        if outcome == "conflict":
            c.step(
                "Conflict isn't trivial. Aborting and sending it back.",
                bash("git rebase --abort && git checkout main", "Abort the rebase", "Switched to branch 'main'"),
                thinking="Not mine to resolve; the polecat owns the change.",
            )
            c.step(
                None,
                bash(
                    f'gt mail send {rig.name}/polecats/{j.name} -s "Rebase needed: {j.bead}" -m "{j.branch} conflicts with main in {j.task.path}. Rebase on origin/main and push again."',
                    "Ask the polecat to rebase",
                    f"\u2713 Sent to {rig.name}/polecats/{j.name}",
                ),
            )
            bounced.append(j.bead)
            continue
        run_tests(
            c,
            rig,
            j.task,
            fail=outcome == "fail",
            text="Running tests on the rebased branch.",
            thinking="Rebased cleanly. The suite decides whether this lands.",
        )
        if outcome == "fail":
            bug = bead_id(rnd, rig.prefix)
            c.step(
                "Verification gate failed. Filing a bug, not merging.",
                bash(
                    f'bd create --rig {rig.name} --type=bug --title="{j.task.fail_name} fails on {j.branch}" -d "Rebased {j.branch} on main; {j.task.fail_name} fails. Not merged."',
                    "File the failure",
                    f"\u2713 Created {bug}: {j.task.fail_name} fails on {j.branch}",
                ),
            )
            c.step(None, bash("git checkout main", "Back to main", "Switched to branch 'main'"))
            filed.append(bug)
            continue
        a, b = short_sha(rnd), short_sha(rnd)
        ff = f"Switched to branch 'main'\nUpdating {a}..{b}\nFast-forward\n {j.task.path} | {rnd.randint(4, 16)} ++++++---\n 1 file changed"
        pushed = f"To {remote(rig)}\n   {a}..{b}  main -> main"
        if rnd.random() < 0.3:
            c.step(
                "Green. Merging.", bash("git checkout main && git merge --ff-only merge-tmp", "Fast-forward main", ff)
            )
            c.step(None, bash("git push origin main", "Push main", pushed))
        else:
            c.step(
                "Green. Merging and pushing.",
                bash(
                    "git checkout main && git merge --ff-only merge-tmp && git push origin main",
                    "Fast-forward main and push",
                    ff + "\n" + pushed,
                ),
            )
        merged.append(j.bead)
    steps = " ".join(f"{wisp}.{i}" for i in range(3, 10))
    close_rest = bash(
        f"bd close {steps}", "Close the remaining patrol steps", f"\u2713 Closed 7 steps ({wisp}.3 \u2026 {wisp}.9)"
    )
    parts = [f"merged {len(merged)}" + (f" ({', '.join(merged)})" if merged else "")]
    if bounced:
        parts.append(f"sent back {', '.join(bounced)} for rebase")
    if filed:
        parts.append(f"filed {', '.join(filed)}")
    summary = "; ".join(parts)
    seq(
        c,
        0.5,
        rnd.choice(("Cycle done. Closing steps and squashing.", None)),
        "Close the remaining steps and squash the wisp",
        close_rest,
        bash(
            f'bd mol squash {wisp} --summary="{summary}"',
            "Squash the patrol wisp",
            f"\u2713 Squashed {wisp} \u2192 digest {bead_id(rnd, rig.prefix)}",
        ),
    )
    c.end_turn(f"Patrol cycle done: {summary}.", STOP_HOOK)


# Generic inner monologue, used when a step brings no thought of its own.
THOUGHTS = (
    "One branch at a time: rebase, test, fast-forward.",
    "The queue comes from gt mq list, not from git branches.",
    "Failing tests block the merge; fix or file.",
    "Conflicts go back to the polecat that owns the branch.",
    "Main must stay green.",
)
