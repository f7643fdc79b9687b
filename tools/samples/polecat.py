"""Polecat sessions: work the bead on the hook through its molecule, push the branch, ``gt done``."""

from __future__ import annotations

from .common import (
    FAKE_PG_URL,
    Planted,
    PolecatJob,
    apply_edits,
    fake_anthropic,
    git_commit_out,
    read_around,
    run_tests,
    start_hooks,
    write_test,
)
from .convo import Convo, bash, edit, grep, read
from .tasks import Task
from .transcript import Rand, Session, Tool
from .vocab import STOP_HOOK, ago, remote, short_sha

POLECAT_PROMPTS = (
    "[gt] {addr}: work slung by mayor. Check your hook and run it.",
    "You have work on your hook. Run `gt hook` and execute it.",
    "[gt] startup nudge for {addr}: hook loaded ({bead}). Begin.",
    "{addr}, your assignment is on your hook. Go.",
)
MOL_STEPS = ("load-context", "implement", "verify", "commit-push", "submit")


def _hook_out(bead: str, title: str, mol: str, addr: str, rnd: Rand) -> str:
    return (
        f"\U0001fa9d Hooked: {bead} \u2014 {title}\n"
        f"   molecule: mol-polecat-work ({mol})\n"
        f"   assignee: {addr}\n"
        f"   slung by: mayor ({ago(rnd)})"
    )


def _mol_out(bead: str, mol: str, done: int) -> str:
    lines = [f"{mol}  mol-polecat-work  \u2192 {bead}"]
    for i, step in enumerate(MOL_STEPS, 1):
        mark = "\u2713" if i <= done else (">" if i == done + 1 else " ")
        lines.append(f"  [{mark}] {mol}.{i}  {step}")
    return "\n".join(lines)


def _show_out(bead: str, task: Task, status: str, assignee: str, rnd: Rand) -> str:
    return (
        f"{bead}: {task.title}\n"
        f"Status: {status}    Priority: P{rnd.randint(1, 3)}    Type: {rnd.choice(('task', 'bug', 'task'))}\n"
        f"Assignee: {assignee}\n"
        f"Created: {ago(rnd)} by mayor\n\n"
        f"Description:\n{task.description}"
    )


def polecat(c: Convo, job: PolecatJob, variant: str, planted: Planted) -> None:
    rnd, rig, t = c.rnd, job.rig, job.task
    wt = job.worktree
    c.human(
        rnd.choice(POLECAT_PROMPTS).format(addr=job.addr, bead=job.bead),
        hook_cmds=start_hooks(rnd),
    )
    if rnd.random() < 0.7:
        c.step(
            rnd.choice(("Checking my hook and molecule.", "Checking my hook for assigned work.", None)),
            bash(
                "gt hook && bd mol current",
                "Check hooked work and molecule steps",
                _hook_out(job.bead, t.title, job.mol, job.addr, rnd) + "\n\n" + _mol_out(job.bead, job.mol, 0),
            ),
            thinking="Startup: hook first, then follow the molecule.",
        )
    else:
        c.step(
            rnd.choice(("Checking my hook for assigned work.", "Checking my hook.", None)),
            bash("gt hook", "Check hooked work", _hook_out(job.bead, t.title, job.mol, job.addr, rnd)),
            thinking="Startup: hook first, then follow the molecule.",
        )
        c.step(
            rnd.choice(("Work is hooked. Looking at the molecule steps.", None)),
            bash("bd mol current", "Show current molecule steps", _mol_out(job.bead, job.mol, 0)),
        )
    if rnd.random() < 0.15 or variant in ("blocked", "no_changes"):
        c.step(
            None, bash(f"bd show {job.bead}", "Show the hooked bead", _show_out(job.bead, t, "hooked", job.addr, rnd))
        )

    if variant == "blocked":
        return _polecat_blocked(c, job)

    if rnd.random() < 0.15 or variant == "no_changes":
        others = [f"{p.path}/{p.path.rsplit('/', 1)[1]}.go" if rig.lang == "go" else f"{p.path}.py" for p in rig.pkgs]
        hits = [t.path] + ([rnd.choice(others)] if rnd.random() < 0.4 else [])
        hits = list(dict.fromkeys(hits))
        c.step(
            rnd.choice(("Finding the code.", "Locating the relevant code.", None)),
            grep(t.grep, wt, hits),
        )

    if variant == "no_changes":
        return _polecat_no_changes(c, job)

    if variant == "subagent":
        c.step(
            "Let me have an explorer check the callers before I change anything.",
            _explore_task(c.s, job),
        )

    tdd = variant == "tdd"
    c.step(rnd.choice(("Reading the file.", None)), read_around(rnd, f"{wt}/{t.path}", t.original, t.edits[0][0]))
    closed_first = rnd.random() < 0.1
    if closed_first:
        c.step(
            None, bash(f"bd close {job.mol}.1", "Close load-context step", f"\u2713 Closed {job.mol}.1: load-context")
        )

    if variant == "secret_env":
        key = planted.add(fake_anthropic(rnd), "anthropic_api_key")
        planted.add(FAKE_PG_URL, "postgres_url")
        env = (
            f"# local dev settings for {rig.name}\n"
            f"APP_ENV=development\n"
            f"DATABASE_URL={FAKE_PG_URL}\n"
            f"ANTHROPIC_API_KEY={key}\n"
            f"LOG_LEVEL=debug\n"
        )
        c.step(
            "Tests read settings from .env; checking what the worktree has.",
            bash("cat .env", "Show local env settings", env),
        )

    wrote_test = tdd
    if tdd:
        write_test(c, job, text="Writing the failing test first.")
        run_tests(c, rig, t, fail=True, thinking="The new test should fail before the fix; check that it does.")

    for i, (old, new) in enumerate(t.edits):
        text = ("Fails as expected. Now the fix." if tdd else "Applying the fix.") if i == 0 else None
        c.step(
            text,
            edit(f"{wt}/{t.path}", apply_edits(t, i), old, new),
            thinking=f"Smallest change that does what {job.bead} asks.",
        )

    if not tdd and (rnd.random() < 0.3 or variant == "compact"):
        write_test(c, job, text=rnd.choice(("Adding a test for it.", "Covering it with a test.", None)))
        wrote_test = True

    if variant == "compact":
        _polecat_long_middle(c, job)

    run_tests(c, rig, t, text=rnd.choice(("Running tests.", "Fix is in. Running the suite.", None)))

    steps = [] if closed_first else [1]
    early = rnd.random() < 0.2
    if early:
        steps += [2, 3]
        c.step(
            rnd.choice(("Tests pass.", "All green.", "Tests pass. Closing the implement and verify steps.")),
            _close_steps(job, steps),
        )
        steps = []
    if rnd.random() < 0.15:
        c.step(None, bash("git status --short", "Show changed files", _status(t, wrote_test)))
    _polecat_commit_push(c, job, wrote_test)
    steps += [4] if early else [2, 3, 4]
    if rnd.random() < 0.75:
        _gt_done(c, job, close=_close_steps(job, steps))
    else:
        c.step(None, _close_steps(job, steps))
        _gt_done(c, job)


def _close_steps(job: PolecatJob, steps: list[int]) -> Tool:
    ids = " ".join(f"{job.mol}.{i}" for i in steps)
    out = "\n".join(f"\u2713 Closed {job.mol}.{i}: {MOL_STEPS[i - 1]}" for i in steps)
    return bash(f"bd close {ids}", "Close finished molecule steps", out)


def _status(t: Task, wrote_test: bool) -> str:
    out = f" M {t.path}"
    if wrote_test:
        out += f"\n?? {t.test_path}" if t.test_original is None else f"\n M {t.test_path}"
    return out


def _polecat_commit_push(c: Convo, job: PolecatJob, wrote_test: bool) -> None:
    rnd, t = c.rnd, job.task
    msg = f"{t.commit} ({job.bead})"
    commit_out = git_commit_out(rnd, job.branch, t, msg, wrote_test)
    if rnd.random() < 0.15:
        paths = f"{t.path} {t.test_path}" if wrote_test else t.path
        c.step(
            "Committing.",
            bash(f'git add {paths} && git commit -m "{msg}"', "Commit the change", commit_out),
        )
        c.step(None, bash(f"git push origin {job.branch}", "Push the polecat branch", _push_new(job)))
    else:
        c.step(
            "Tests pass. Committing and pushing the branch.",
            bash(
                f'git add -A && git commit -m "{msg}" && git push origin {job.branch}',
                "Commit and push the branch",
                commit_out + "\n" + _push_new(job),
            ),
        )


def _push_new(job: PolecatJob) -> str:
    return f"To {remote(job.rig)}\n * [new branch]      {job.branch} -> {job.branch}"


def _gt_done(c: Convo, job: PolecatJob, *, no_changes: bool = False, close: Tool | None = None) -> None:
    rnd = c.rnd
    if no_changes:
        out = (
            f"\u2713 Nothing to submit: {job.bead} closed as no-changes\n"
            f"\u2713 Witness notified ({job.rig.name}/witness)\n"
            f"Polecat {job.name} is done. Session ending."
        )
    else:
        out = (
            f"\u2713 Branch {job.branch} is pushed\n"
            f"\u2713 Merge request queued for {job.rig.name}/refinery (position {rnd.randint(1, 4)})\n"
            f"\u2713 Witness notified ({job.rig.name}/witness)\n"
            f"Polecat {job.name} is done. Session ending."
        )
    if close is not None:
        cmd = close.input["command"] + " && gt done"
        c.step(
            rnd.choice(("Closing the steps and submitting.", None)),
            bash(cmd, "Close finished steps and submit", close.content + "\n" + out),
        )
    else:
        c.step(
            rnd.choice(("Submitting with gt done.", "Done with the work; running gt done.", None)),
            bash("gt done", "Submit work and exit", out),
        )
    if rnd.random() < 0.7:
        # gt done ends the polecat's session; most transcripts stop right there.
        c.end_turn(None)
        return
    c.end_turn(
        rnd.choice(
            (
                f"{job.bead} submitted to the merge queue.",
                f"Done. {job.bead} is on {job.branch} and queued for the refinery.",
                f"Work on {job.bead} complete and handed to the refinery.",
            )
        )
        if not no_changes
        else f"{job.bead} needed no changes; closed it with the reason and ran gt done.",
        STOP_HOOK,
    )


def _polecat_no_changes(c: Convo, job: PolecatJob) -> None:
    rnd, t = c.rnd, job.task
    c.step(
        None,
        read(f"{job.worktree}/{t.path}", t.final()),
        thinking="Check whether this is still a problem before editing.",
    )
    sha = short_sha(rnd)
    c.step(
        "This already looks handled. Checking history.",
        bash(
            f"git log --oneline -3 -- {t.path}",
            "Recent commits touching the file",
            f"{sha} {t.commit}\n{short_sha(rnd)} {t.pkg.noun}: tidy comments\n{short_sha(rnd)} initial import",
        ),
    )
    run_tests(
        c,
        job.rig,
        t,
        text="Confirming the suite is green on main.",
        thinking="If main already passes with this fix in, there is nothing to do.",
    )
    reason = f"no-changes: already fixed on main in {sha}"
    c.step(
        f"The fix landed in {sha} before this bead was slung. Nothing to change.",
        bash(
            f'bd close {job.mol}.2 --reason="{reason}"',
            "Close the step with a no-changes reason",
            f"\u2713 Closed {job.mol}.2: implement ({reason})",
        ),
    )
    _gt_done(c, job, no_changes=True)


BLOCKERS = (
    (
        "the bead asks for a schema change but the migration tool is not in this rig",
        "needs a decision on where the migration lives",
    ),
    ("tests for this package need a fixture database that is not set up in the worktree", "missing test fixtures"),
    ("the description contradicts the current API contract", "spec conflict"),
)


def _polecat_blocked(c: Convo, job: PolecatJob) -> None:
    rnd, t = c.rnd, job.task
    c.step(None, read(f"{job.worktree}/{t.path}", t.original))
    problem, short = rnd.choice(BLOCKERS)
    think = f"Can't finish this alone: {problem}. Don't guess; escalate."
    if rnd.random() < 0.5:
        c.step(
            f"Blocked: {problem}. Escalating.",
            bash(
                f'gt escalate "{job.bead}: {short}" -m "{problem.capitalize()}. Stopping here until someone decides."',
                "Escalate the blocker",
                f"\u2713 Escalation filed: hq-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', 4)} ({job.bead})\n  routed to: {job.rig.name}/witness, mayor/",
            ),
            thinking=think,
            force_think=True,
        )
    else:
        c.step(
            f"Blocked: {problem}. Mailing the witness.",
            bash(
                f'gt mail send {job.rig.name}/witness -s "BLOCKED: {job.bead}" -m "{problem.capitalize()}. Need direction."',
                "Tell the witness I am blocked",
                f"\u2713 Sent to {job.rig.name}/witness",
            ),
            thinking=think,
            force_think=True,
        )
    c.end_turn(f"{job.bead} is blocked ({short}); escalated and waiting for direction.", STOP_HOOK)


def _polecat_long_middle(c: Convo, job: PolecatJob) -> None:
    """A long stretch of lint/test iterations, then compaction."""
    rnd, rig, t, wt = c.rnd, job.rig, job.task, job.worktree
    lint = "golangci-lint run ./..." if rig.lang == "go" else "ruff check ."
    fmt = f"gofmt -w {t.path}" if rig.lang == "go" else f"ruff format {t.path}"
    for i in range(4):
        run_tests(c, rig, t, text=f"Pass {i + 1}: rerunning the suite.")
        c.step(None, read(f"{wt}/{t.path}", t.final()))
        if i == 0:
            c.step("Running the linter too.", bash(lint, "Lint", f"{t.path}:1:1: file is not formatted", exit_code=1))
            c.step("Formatting.", bash(fmt, "Format the file", "" if rig.lang == "go" else "1 file reformatted"))
        c.step(None, bash(lint, "Lint", ""))
        c.step(
            None, bash("git diff --stat", "Diff summary", f" {t.path} | {rnd.randint(4, 14)} ++++++--\n 1 file changed")
        )
    c.s.compact(
        "This session is being continued from an earlier conversation that ran out of context. "
        f"Summary: I am polecat {job.name} in rig {rig.name}, working on {job.bead} ({t.title}) on branch "
        f"{job.branch}. Steps {job.mol}.1 is closed. The fix in {t.path} and a test in {t.test_path} are "
        "written and pass locally. Remaining: run the suite once more, close the implement and verify steps, "
        "commit, push the branch, close commit-push, and finish with gt done.",
        rnd.randint(150000, 170000),
    )


def _explore_task(parent: Session, job: PolecatJob) -> Tool:
    rnd, t = parent.rnd, job.task
    agent_id = rnd.hex(7)
    prompt = f"Find every caller of the code in {t.path} that {job.bead} touches and report anything that could break."
    report = (
        f"Callers of the changed code in {t.path}:\n"
        f"- {t.path} itself (no other package calls it directly)\n"
        f"- {t.test_path} (new test)\n\n"
        "No caller depends on the old behaviour. Safe to change."
    )

    def run(sess: Session, tool_use_id: str) -> None:
        sub = Session(
            rnd,
            cwd=sess.cwd,
            session_id=sess.session_id,
            version=sess.version,
            git_branch=sess.git_branch,
            start=sess.clock,
            model="claude-haiku-4-5-20251001",
            slug=sess.slug,
            agent_id=agent_id,
        )
        sub.slug_on = True
        sc = Convo(sub, think_rate=0.0)
        sub.user_prompt(prompt)
        sc.step("I'll search for the callers.", grep(t.grep, job.worktree, [t.path]))
        sc.step(None, read(f"{job.worktree}/{t.path}", t.original))
        sub.assistant([{"type": "text", "text": report}], None)
        sess.subagents.append(sub)
        sess.clock = sub.clock

    content = [
        {"type": "text", "text": report},
        {"type": "text", "text": f"agentId: {agent_id} (use it to resume this agent)"},
    ]
    tur = {
        "status": "completed",
        "prompt": prompt,
        "agentId": agent_id,
        "content": [content[0]],
        "totalDurationMs": rnd.randint(9000, 40000),
        "totalTokens": rnd.randint(15000, 40000),
        "totalToolUseCount": 2,
        "usage": {
            "input_tokens": 6,
            "cache_creation_input_tokens": 3100,
            "cache_read_input_tokens": 24000,
            "output_tokens": 410,
            "service_tier": "standard",
        },
    }
    inp = {"subagent_type": "Explore", "description": "Find callers before editing", "prompt": prompt}
    return Tool("Task", inp, content, tur, took_ms=(500, 1500), subagent=run)


# Generic inner monologue, used when a step brings no thought of its own.
THOUGHTS = (
    "Follow the molecule step by step; no side quests.",
    "Keep the change small and inside the bead's scope.",
    "Next step on the molecule. Close steps as they finish.",
    "Never push to main; my branch goes to the refinery.",
    "The session ends with gt done, not with waiting around.",
    "If something blocks me, escalate instead of guessing.",
    "Check the result before moving on.",
)
