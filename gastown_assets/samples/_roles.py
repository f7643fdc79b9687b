"""One episode per session: what each Gas Town role does in a typical run.

Every function takes a :class:`Convo` (already bound to a session with the
right cwd) plus the facts it needs, and drives the conversation. The command
vocabulary per role follows Gas Town's role prompts (gt hook, gt done,
gt mq list, bd close, ...); the outputs are invented by us.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ._transcript import B62, TOKEN_CHARS, Convo, Rand, Session, Tool, bash, chain, edit, grep, read, write
from ._vocab import (
    CREW,
    POLECATS,
    PROMPT_HOOKS,
    RIGS,
    STOP_HOOK,
    Rig,
    Task,
    ago,
    bead_id,
    remote,
    short_sha,
    tasks_for,
    test_command,
    test_fail_output,
    test_pass_output,
)


@dataclass
class Planted:
    """Fake secrets planted in the session being generated."""

    items: list[tuple[str, str]] = field(default_factory=list)  # (value, kind)

    def add(self, value: str, kind: str) -> str:
        self.items.append((value, kind))
        return value


def fake_anthropic(rnd: Rand) -> str:
    return "sk-ant-api03-" + rnd.chars(TOKEN_CHARS, 40)


def fake_github(rnd: Rand) -> str:
    return "ghp_" + rnd.chars(B62, 36)


def fake_aws(rnd: Rand) -> str:
    return "AKIA" + rnd.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)


def fake_hf(rnd: Rand) -> str:
    return "hf_" + rnd.chars(B62, 34)


FAKE_PG_URL = "postgres://app:S3cretPassw0rd@db:5432/app"


def _test_progress(rnd: Rand, rig: Rig) -> list[str]:
    if rig.lang == "go":
        lines = [f"ok  \t{rig.module}/{p.path}\t{rnd.uniform(0.01, 0.9):.3f}s" for p in rig.pkgs[:2]]
    else:
        lines = ["." * rnd.randint(12, 40)]
    return ["\n".join(lines[: i + 1]) for i in range(rnd.randint(1, min(2, len(lines))))]


def read_around(rnd: Rand, path: str, text: str, anchor: str) -> Tool:
    """Read the whole file, or (half the time) a window around ``anchor``."""
    if rnd.random() < 0.3:
        return read(path, text)
    line = text[: text.index(anchor)].count("\n") + 1
    offset = max(1, line - rnd.randint(3, 8))
    return read(path, text, offset, rnd.choice((15, 20, 25)))


def seq(c: Convo, p_chain: float, text: str | None, description: str, *tools: Tool) -> None:
    """Run Bash tools one per step, or (with probability p_chain) as one ``&&`` chain."""
    if c.rnd.random() < p_chain:
        c.step(text, chain(description, *tools))
    else:
        for i, t in enumerate(tools):
            c.step(text if i == 0 else None, t)


def _hooks(rnd: Rand) -> tuple[str, ...]:
    return PROMPT_HOOKS if rnd.random() < 0.1 else PROMPT_HOOKS[:1]


def run_tests(
    c: Convo, rig: Rig, task: Task | None, *, fail: bool = False, text: str | None = None, thinking: str | None = None
) -> None:
    cmd, desc = test_command(rig)
    progress = _test_progress(c.rnd, rig) if c.rnd.random() < 0.3 else []
    if fail and task is not None:
        out = test_fail_output(c.rnd, rig, task)
        tool = bash(cmd, desc, out, exit_code=1, progress=progress, took_ms=(3000, 9000))
    else:
        out = test_pass_output(c.rnd, rig, task.pkg if task else None)
        tool = bash(cmd, desc, out, progress=progress, took_ms=(3000, 12000), timeout=300000 if c.rnd.random() < 0.3 else None)
    c.step(text, tool, thinking=thinking or c.rnd.choice(THINK_TEST))


THINK_TEST = (
    "Code change is in. Run the suite before touching git.",
    "Need a green run before committing; the refinery will run it again anyway.",
    "Run tests now so a failure shows up here and not in the merge queue.",
)


# ---------------------------------------------------------------------------
# polecat
# ---------------------------------------------------------------------------

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


@dataclass
class PolecatJob:
    rig: Rig
    name: str
    worktree: str
    bead: str
    mol: str
    branch: str
    task: Task
    addr: str


def polecat_job(rnd: Rand, rig: Rig, name: str, worktree: str) -> PolecatJob:
    task = rnd.choice(tasks_for(rig))
    bead = bead_id(rnd, rig.prefix)
    mol = bead_id(rnd, rig.prefix)
    branch = rnd.choice((f"polecat/{name}/{bead}", f"polecat/{name}-{rnd.chars('abcdefghijklmnopqrstuvwxyz0123456789', 6)}"))
    return PolecatJob(rig, name, worktree, bead, mol, branch, task, f"{rig.name}/polecats/{name}")


def polecat(c: Convo, job: PolecatJob, variant: str, planted: Planted) -> None:
    rnd, rig, t = c.rnd, job.rig, job.task
    wt = job.worktree
    c.human(
        rnd.choice(POLECAT_PROMPTS).format(addr=job.addr, bead=job.bead),
        hook_cmds=_hooks(rnd),
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
        c.step(None, bash(f"bd show {job.bead}", "Show the hooked bead", _show_out(job.bead, t, "hooked", job.addr, rnd)))

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
        c.step(None, bash(f"bd close {job.mol}.1", "Close load-context step", f"\u2713 Closed {job.mol}.1: load-context"))

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
        _write_test(c, job, text="Writing the failing test first.")
        run_tests(c, rig, t, fail=True, thinking="The new test should fail before the fix; check that it does.")

    for i, (old, new) in enumerate(t.edits):
        text = ("Fails as expected. Now the fix." if tdd else "Applying the fix.") if i == 0 else None
        c.step(text, edit(f"{wt}/{t.path}", _apply(t, i), old, new), thinking=f"Smallest change that does what {job.bead} asks.")

    if not tdd and (rnd.random() < 0.3 or variant == "compact"):
        _write_test(c, job, text=rnd.choice(("Adding a test for it.", "Covering it with a test.", None)))
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


def _apply(t: Task, upto: int) -> str:
    text = t.original
    for old, new in t.edits[:upto]:
        text = text.replace(old, new, 1)
    return text


def _write_test(c: Convo, job: PolecatJob, text: str | None) -> None:
    t, wt = job.task, job.worktree
    if t.test_original is None:
        c.step(text, write(f"{wt}/{t.test_path}", t.test_edit))  # type: ignore[arg-type]
    else:
        old, new = t.test_edit  # type: ignore[misc]
        if c.rnd.random() < 0.25:
            c.step(None, read(f"{wt}/{t.test_path}", t.test_original))
        c.step(text, edit(f"{wt}/{t.test_path}", t.test_original, old, new))


def _status(t: Task, wrote_test: bool) -> str:
    out = f" M {t.path}"
    if wrote_test:
        out += f"\n?? {t.test_path}" if t.test_original is None else f"\n M {t.test_path}"
    return out


def _commit_out(rnd: Rand, branch: str, t: Task, msg: str, wrote_test: bool, sha: str | None = None, extra: int = 0) -> str:
    files = (2 if wrote_test else 1) + extra
    out = f"[{branch} {sha or short_sha(rnd)}] {msg}\n {files} file{'s' if files > 1 else ''} changed, {rnd.randint(6, 30)} insertions(+), {rnd.randint(0, 4)} deletions(-)"
    if wrote_test and t.test_original is None:
        out += f"\n create mode 100644 {t.test_path}"
    return out


def _polecat_commit_push(c: Convo, job: PolecatJob, wrote_test: bool) -> None:
    rnd, t = c.rnd, job.task
    msg = f"{t.commit} ({job.bead})"
    commit_out = _commit_out(rnd, job.branch, t, msg, wrote_test)
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
        c.step(rnd.choice(("Closing the steps and submitting.", None)), bash(cmd, "Close finished steps and submit", close.content + "\n" + out))
    else:
        c.step(rnd.choice(("Submitting with gt done.", "Done with the work; running gt done.", None)), bash("gt done", "Submit work and exit", out))
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
    c.step(None, read(f"{job.worktree}/{t.path}", t.final()), thinking="Check whether this is still a problem before editing.")
    sha = short_sha(rnd)
    c.step(
        "This already looks handled. Checking history.",
        bash(
            f"git log --oneline -3 -- {t.path}",
            "Recent commits touching the file",
            f"{sha} {t.commit}\n{short_sha(rnd)} {t.pkg.noun}: tidy comments\n{short_sha(rnd)} initial import",
        ),
    )
    run_tests(c, job.rig, t, text="Confirming the suite is green on main.", thinking="If main already passes with this fix in, there is nothing to do.")
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
    ("the bead asks for a schema change but the migration tool is not in this rig", "needs a decision on where the migration lives"),
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
        c.step(None, bash("git diff --stat", "Diff summary", f" {t.path} | {rnd.randint(4, 14)} ++++++--\n 1 file changed"))
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

    content = [{"type": "text", "text": report}, {"type": "text", "text": f"agentId: {agent_id} (use it to resume this agent)"}]
    tur = {
        "status": "completed",
        "prompt": prompt,
        "agentId": agent_id,
        "content": [content[0]],
        "totalDurationMs": rnd.randint(9000, 40000),
        "totalTokens": rnd.randint(15000, 40000),
        "totalToolUseCount": 2,
        "usage": {"input_tokens": 6, "cache_creation_input_tokens": 3100, "cache_read_input_tokens": 24000, "output_tokens": 410, "service_tier": "standard"},
    }
    inp = {"subagent_type": "Explore", "description": "Find callers before editing", "prompt": prompt}
    return Tool("Task", inp, content, tur, took_ms=(500, 1500), subagent=run)


# ---------------------------------------------------------------------------
# refinery
# ---------------------------------------------------------------------------

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


def _wisp_setup(
    c: Convo,
    prefix: str,
    formula: str,
    assignee: str,
    nsteps: int,
    before: Tool | None = None,
    after: Tool | None = None,
    before_text: str | None = None,
) -> str:
    """Find the patrol wisp on the hook, or create and hook one.

    ``before``/``after`` are Bash calls that go with the hook check (heartbeat,
    inbox); they may be chained with it into one command.
    """
    rnd = c.rnd
    wisp = f"{prefix}-wisp-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', 3)}"
    hooked = rnd.random() < 0.7
    hook = bash("gt hook", "Check hooked work", f"\U0001fa9d Hooked: {wisp} ({formula}, step 1/{nsteps})" if hooked else "Nothing on hook.")
    tools = [t for t in (before, hook) if t is not None]
    if hooked and after is not None:
        tools.append(after)
        after = None
    text = before_text if before is not None else rnd.choice(("Checking my hook.", "Hook first.", None))
    seq(c, 0.45, text, "Patrol startup checks", *tools)
    if hooked:
        return wisp
    var = f" --var assignee={assignee}" if formula == "mol-refinery-patrol" else ""
    c.step(
        "Hook is empty; starting a fresh patrol wisp.",
        bash(f"bd mol wisp {formula}{var}", "Create a patrol wisp", f"\u2713 Created wisp {wisp} ({formula}, {nsteps} steps)"),
    )
    c.step(
        None,
        bash(
            f"bd update {wisp} --status=hooked --assignee={assignee}",
            "Hook the wisp",
            f"\u2713 Updated {wisp}: status=hooked assignee={assignee}",
        ),
    )
    if after is not None:
        c.step(None, after)
    return wisp


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
    mail = "No unread mail." if not jobs or rnd.random() < 0.4 else "\n".join(
        f"  {i + 1}. [unread] MERGE_READY {j.branch}  from {rig.name}/witness  {ago(rnd)}" for i, j in enumerate(jobs)
    )
    wisp = _wisp_setup(
        c, rig.prefix, "mol-refinery-patrol", f"{rig.name}/refinery", len(REFINERY_STEPS), after=bash("gt mail inbox", "Check inbox", mail)
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
            f"  {i + 1}. {j.branch:<28} {j.bead:<8} \"{j.task.title}\"  ({j.name}, {ago(rnd)})" for i, j in enumerate(jobs)
        )
        q = f"Merge queue for {rig.name} ({len(jobs)}):\n{q}"
    else:
        q = f"Merge queue for {rig.name} is empty."
    c.step(rnd.choice(("Reading the merge queue.", None)), bash(f"gt mq list {rig.name}", "List the merge queue", q), thinking="Queue comes from gt mq list only.")
    c.step(None, bash(f"bd close {wisp}.1 {wisp}.2", "Close inbox-check and queue-scan", f"\u2713 Closed {wisp}.1: inbox-check\n\u2713 Closed {wisp}.2: queue-scan"))
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
                f"CONFLICT (content): Merge conflict in {j.task.path}\nerror: could not apply {short_sha(rnd)}... {j.task.commit}\nhint: Resolve all conflicts manually, mark them with \"git add\", then run \"git rebase --continue\"."
                if outcome == "conflict"
                else "Successfully rebased and updated refs/heads/merge-tmp.",
                exit_code=1 if outcome == "conflict" else 0,
            ),
        )
        if outcome == "conflict":
            c.step("Conflict isn't trivial. Aborting and sending it back.", bash("git rebase --abort && git checkout main", "Abort the rebase", "Switched to branch 'main'"), thinking="Not mine to resolve; the polecat owns the change.")
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
            c.step("Green. Merging.", bash("git checkout main && git merge --ff-only merge-tmp", "Fast-forward main", ff))
            c.step(None, bash("git push origin main", "Push main", pushed))
        else:
            c.step(
                "Green. Merging and pushing.",
                bash("git checkout main && git merge --ff-only merge-tmp && git push origin main", "Fast-forward main and push", ff + "\n" + pushed),
            )
        merged.append(j.bead)
    steps = " ".join(f"{wisp}.{i}" for i in range(3, 10))
    close_rest = bash(f"bd close {steps}", "Close the remaining patrol steps", f"\u2713 Closed 7 steps ({wisp}.3 \u2026 {wisp}.9)")
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
        bash(f'bd mol squash {wisp} --summary="{summary}"', "Squash the patrol wisp", f"\u2713 Squashed {wisp} \u2192 digest {bead_id(rnd, rig.prefix)}"),
    )
    c.end_turn(f"Patrol cycle done: {summary}.", STOP_HOOK)


# ---------------------------------------------------------------------------
# witness
# ---------------------------------------------------------------------------

WITNESS_STEPS = ("inbox-check", "survey-workers", "nudge-stuck", "cleanup-done", "report", "loop-or-exit")


def witness(c: Convo, rig: Rig, town: str, variant: str, planted: Planted) -> None:
    rnd = c.rnd
    c.human(
        rnd.choice((f"[gt] {rig.name}/witness: patrol.", f"[gt] {rig.name}/witness: daemon tick, run your patrol.", "Start your patrol.")),
        hook_cmds=PROMPT_HOOKS[:1],
    )
    names = rnd.sample(POLECATS, rnd.randint(2, 3))
    states = [rnd.choices(("working", "stuck", "done", "idle"), (0.55, 0.15, 0.2, 0.1))[0] for _ in names]
    if variant in ("api_error", "secret_peek") and "stuck" not in states:
        states[0] = "stuck"
    done = [n for n, s in zip(names, states) if s == "done"]
    mail = "No unread mail." if not done else "\n".join(
        f"  {i + 1}. [unread] POLECAT_DONE {n}  from {rig.name}/polecats/{n}  {ago(rnd)}" for i, n in enumerate(done)
    )
    wisp = _wisp_setup(
        c, rig.prefix, "mol-witness-patrol", f"{rig.name}/witness", len(WITNESS_STEPS), after=bash("gt mail inbox", "Check inbox", mail)
    )
    if rnd.random() < 0.15:
        c.step(
            None,
            bash(
                "bd mol current",
                "Show patrol steps",
                f"{wisp}  mol-witness-patrol\n" + "\n".join(f"  [{'>' if i == 1 else ' '}] {wisp}.{i}  {s}" for i, s in enumerate(WITNESS_STEPS, 1)),
            ),
        )
    c.step(None, bash(f"bd close {wisp}.1", "Close inbox-check", f"\u2713 Closed {wisp}.1: inbox-check"))
    rows = "\n".join(
        f"  {n:<9} {s:<8} {bead_id(rnd, rig.prefix) if s != 'idle' else '-':<8} last activity {rnd.randint(1, 59)}m ago" for n, s in zip(names, states)
    )
    c.step(
        rnd.choice(("Surveying polecats.", None)),
        bash(f"gt polecat list {rig.name}", "List polecats", f"Polecats in {rig.name}:\n  NAME      STATE    HOOK     ACTIVITY\n{rows}"),
        thinking="Look at each polecat; peek before nudging.",
    )
    errored = False
    for n, s in zip(names, states):
        if s != "stuck":
            continue
        pane = "\u25cf Waiting for input...\n> \n  ? for shortcuts"
        if variant == "secret_peek" and not any(k == "hf_token" for _, k in planted.items):
            tok = planted.add(fake_hf(rnd), "hf_token")
            pane = f'$ curl -s -H "Authorization: Bearer {tok}" https://huggingface.co/api/whoami-v2\n{{"error":"Invalid credentials in Authorization header"}}\n' + pane
        c.step(f"{n} looks stuck. Peeking.", bash(f"gt peek {rig.name}/{n} 50", "Look at the polecat's pane", pane))
        if variant == "api_error" and not errored:
            c.s.api_error(529, "overloaded_error", "Overloaded")
            errored = True
            c.human(f"[gt] nudge from deacon: {rig.name}/witness patrol stalled, continue.")
        c.step(
            None,
            bash(f'gt nudge {rig.name}/{n} "You have hooked work. Run gt hook and continue, or gt done if finished."', "Nudge the stuck polecat", f"\u2713 Nudged {rig.name}/{n}"),
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
        c.step(None, bash(f"gt polecat nuke {rig.name}/{n} --force", "Remove the finished polecat", f"\u2713 Nuked {rig.name}/{n} (worktree removed, session stopped)"))
    stuck = [n for n, s in zip(names, states) if s == "stuck"]
    summary = f"{len(names)} polecats; nudged {', '.join(stuck) or 'none'}; cleaned up {', '.join(cleaned) or 'none'}"
    if held:
        summary += f"; escalated {', '.join(held)} (unmerged commits)"
    seq(
        c,
        0.5,
        None,
        "Close the remaining steps and squash the wisp",
        bash(f"bd close {' '.join(f'{wisp}.{i}' for i in range(2, 7))}", "Close the remaining patrol steps", f"\u2713 Closed 5 steps ({wisp}.2 \u2026 {wisp}.6)"),
        bash(f'bd mol squash {wisp} --summary="{summary}"', "Squash the patrol wisp", f"\u2713 Squashed {wisp}"),
    )
    c.end_turn(f"Patrol complete: {summary}.", STOP_HOOK)


# ---------------------------------------------------------------------------
# mayor
# ---------------------------------------------------------------------------

MAYOR_ASKS = (
    "The {rig} folks report: {title}. File it and get a polecat on it.",
    "Please split this into beads and sling them: {title}; also {title2}.",
    "What's in your inbox? Deal with anything urgent.",
    "Start a convoy for this week's {rig} fixes: {title} and {title2}.",
)


def _lc(title: str) -> str:
    """Lower-case the first letter unless it starts an identifier like ``export.Store``."""
    head = title.split(" ", 1)[0]
    return title if ("." in head or head.isupper()) else title[0].lower() + title[1:]


def mayor(c: Convo, town: str, variant: str, planted: Planted) -> None:
    rnd = c.rnd
    rig = rnd.choice(RIGS)
    tasks = rnd.sample(tasks_for(rig), 3)
    ask = rnd.choice(MAYOR_ASKS)
    c.human(ask.format(rig=rig.name, title=_lc(tasks[0].title), title2=_lc(tasks[1].title)), hook_cmds=_hooks(rnd))
    mails = []
    for i in range(rnd.randint(0 if "{title" in ask else 1, 2) or (1 if variant == "secret_mail" else 0)):
        mid = f"hq-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', 4)}"
        r = rnd.choice(RIGS)
        kind = "crew" if (variant == "secret_mail" and i == 0) else rnd.choice(("witness", "refinery", "crew"))
        frm = f"{r.name}/{kind}" if kind != "crew" else f"{r.name}/crew/{rnd.choice(CREW)}"
        subj = {
            "witness": f"{rnd.choice(POLECATS)} stuck on {bead_id(rnd, r.prefix)}",
            "refinery": f"Merged {rnd.randint(1, 4)}, {rnd.randint(0, 1)} bounced",
            "crew": "Need a token for the eval job" if variant == "secret_mail" and not mails else "Question about priorities",
        }[kind]
        mails.append((mid, frm, subj, r))
    inbox = "\n".join(f"  {i + 1}. [unread] {mid}  {subj}  from {frm}  {ago(rnd)}" for i, (mid, frm, subj, _) in enumerate(mails)) or "No unread mail."
    seq(
        c,
        0.4,
        rnd.choice(("Checking my hook and mail first.", None)),
        "Check hook and inbox",
        bash("gt hook", "Check hooked work", "Nothing on hook."),
        bash("gt mail inbox", "Check inbox", inbox),
    )
    for mid, frm, subj, r in [m for m in mails if m[2].startswith("Need a token")] or mails[:1]:
        body = f"From: {frm}\nSubject: {subj}\n\n"
        if subj.startswith("Need a token"):
            tok = planted.add(fake_hf(rnd), "hf_token")
            body += f"The nightly eval in {r.name} needs HF access. I exported HF_TOKEN={tok} on my box; can you make sure the polecats get it?"
        elif "stuck" in subj:
            body += "Nudged twice, no progress. Might need a human look."
        elif subj.startswith("Merged"):
            body += "Patrol summary attached to the squashed wisp."
        else:
            body += "Should I pause the refactor until the release is out?"
        c.step(None, bash(f"gt mail read {mid}", "Read the message", body))
        if subj.startswith("Need a token"):
            c.step(
                None,
                bash(
                    f'gt mail send {frm} -s "Re: {subj}" -m "Please do not send tokens by mail. Put it in the rig secrets and rotate this one."',
                    "Reply",
                    f"\u2713 Sent to {frm}",
                ),
                thinking="A credential in mail; tell them to rotate it, do not forward it.",
                force_think=True,
            )
        elif "stuck" in subj:
            c.step(None, bash(f'gt nudge {r.name}/witness "Please check on the stuck polecat from your last mail."', "Nudge the witness", f"\u2713 Nudged {r.name}/witness"))
    created = []
    if "{title" in ask:
        for t in tasks[: 1 if "{title2}" not in ask else 2]:
            bid = bead_id(rnd, rig.prefix)
            c.step(
                rnd.choice(("Filing it in the rig that owns the code.", None)),
                bash(
                    f'bd create --rig {rig.name} --type=task --title="{t.title}" -d "{t.description}"',
                    "Create the bead",
                    f"\u2713 Created issue: {bid}\n  Title: {t.title}\n  Priority: P2\n  Status: open",
                ),
            )
            created.append(bid)
        if len(created) > 1 and rnd.random() < 0.7:
            cv = f"hq-cv-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', 3)}"
            c.step(None, bash(f'gt convoy create "{rig.name} fixes" {" ".join(created)}', "Track them in a convoy", f"\u2713 Created convoy {cv}: {rig.name} fixes ({len(created)} issues)"))
        for bid in created:
            pc = rnd.choice(POLECATS)
            c.step(
                None,
                bash(
                    f"gt sling {bid} {rig.name}",
                    "Sling the bead to the rig",
                    f"\U0001f3af Slung {bid} to {rig.name}\n   polecat: {rig.name}/polecats/{pc} (spawned)\n   hooked: {bid}\n   session started",
                ),
            )
    if rnd.random() < 0.3:
        cv = f"hq-cv-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', 3)}"
        lines = [f"Convoy {cv}: {rig.name} fixes"]
        for bid in created or [bead_id(rnd, rig.prefix) for _ in range(2)]:
            lines.append(f"  {bid:<9} {rnd.choice(('in_progress', 'hooked', 'merged', 'open'))}")
        c.step(None, bash("gt convoy status", "Convoy progress", "\n".join(lines)))
    if rnd.random() < 0.25 or not created or c.turns < 4:
        c.step(
            None,
            bash(
                "gt status",
                "Town overview",
                "\n".join(f"{r.name:<14} witness up  refinery up  polecats {rnd.randint(0, 4)} working  mq {rnd.randint(0, 3)}" for r in RIGS),
            ),
        )
    c.end_turn(
        (f"Filed and slung {', '.join(created)} to {rig.name}." if created else "Inbox handled.")
        + rnd.choice((" I'll watch the convoy.", " Nothing else needs you right now.", "")),
        STOP_HOOK,
    )
    if rnd.random() < 0.15:
        c.human("how's it going?")
        c.step(None, bash("gt convoy list", "List convoys", f"hq-cv-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', 3)}  {rig.name} fixes  {rnd.randint(0, 2)}/{max(1, len(created))} done"))
        c.end_turn("Work is moving; polecats are on it and nothing is stuck.", STOP_HOOK)


# ---------------------------------------------------------------------------
# deacon, dogs, boot
# ---------------------------------------------------------------------------

DEACON_STEPS = ("inbox-check", "health-scan", "orphan-check", "dispatch-dogs", "context-check", "loop-or-exit")


def deacon(c: Convo, town: str, variant: str, planted: Planted) -> None:
    rnd = c.rnd
    c.human(rnd.choice(("[gt] deacon: daemon tick. Patrol.", "[gt] deacon: heartbeat due.", "Run your patrol.")), hook_cmds=PROMPT_HOOKS[:1])
    wisp = _wisp_setup(
        c,
        "hq",
        "mol-deacon-patrol",
        "deacon",
        len(DEACON_STEPS),
        before=bash("gt deacon heartbeat", "Record a heartbeat", f"\u2665 heartbeat recorded (patrol #{rnd.randint(2, 19)})"),
        before_text=rnd.choice(("Heartbeat first.", None)),
    )
    if rnd.random() < 0.4:
        c.step(
            None,
            bash("bd ready", "Ready steps", "\n".join(f"  {wisp}.{i}  {s}" for i, s in enumerate(DEACON_STEPS[:2], 1))),
        )
    if rnd.random() < 0.2:
        c.step(None, bash(f"bd show {wisp}.1", "Show the step", f"{wisp}.1: inbox-check\nStatus: open\n\nRead mail. Handle LIFECYCLE and TIMER messages; delete what you handled."))
    lifecycle = rnd.random() < 0.35
    mid = f"hq-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', 4)}"
    c.step(
        None,
        bash("gt mail inbox", "Check inbox", f"  1. [unread] {mid}  LIFECYCLE: mayor restart requested  from mayor/  {ago(rnd)}" if lifecycle else "No unread mail."),
    )
    if lifecycle:
        c.step(None, bash(f"gt mail read {mid}", "Read it", "From: mayor/\nSubject: LIFECYCLE: mayor restart requested\n\nContext is nearly full. Restart me after the handoff note is written."))
        c.step("Restarting the mayor.", bash("gt mayor stop && gt mayor start", "Cycle the mayor session", "\u2713 mayor stopped\n\u2713 mayor started (hq-mayor)"), thinking="LIFECYCLE request from mayor: cycle it, then delete the mail.")
        c.step(None, bash(f"gt mail delete {mid}", "Delete handled mail", f"\u2713 Deleted {mid}"))
    c.step(None, bash(f"bd close {wisp}.1", "Close inbox-check", f"\u2713 Closed {wisp}.1: inbox-check"))
    c.step(
        rnd.choice(("Health scan.", None)),
        bash("gt status", "Town overview", "\n".join(f"{r.name:<14} witness {rnd.choice(('up', 'up', 'up', 'DOWN'))}  refinery up  polecats {rnd.randint(0, 4)}" for r in RIGS)),
    )
    seq(
        c,
        0.5,
        None,
        "Close the scan steps and squash the wisp",
        bash(f"bd close {wisp}.2 {wisp}.3 {wisp}.4 {wisp}.5", "Close the scan steps", f"\u2713 Closed 4 steps ({wisp}.2 \u2026 {wisp}.5)"),
        bash(f'bd mol squash {wisp} --summary="patrol ok' + ("; cycled mayor" if lifecycle else "") + '"', "Squash the wisp", f"\u2713 Squashed {wisp}"),
    )
    c.end_turn("Patrol cycle complete." + (" Mayor restarted on request." if lifecycle else ""), STOP_HOOK)


DOG_JOBS = ("reap", "backup", "cleanup")


def dog(c: Convo, town: str, dog_name: str, variant: str, planted: Planted) -> None:
    rnd = c.rnd
    job = "backup" if variant == "secret_env" else rnd.choice(DOG_JOBS)
    bid = f"hq-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', 4)}"
    title = {"reap": "Reap stale wisps in the town db", "backup": "Nightly dolt backup", "cleanup": "Dolt cleanup after rig removal"}[job]
    c.human(f"[gt] deacon/dogs/{dog_name}: assignment from deacon.", hook_cmds=PROMPT_HOOKS[:1])
    c.step("Checking my hook.", bash("gt hook", "Check hooked work", f"\U0001fa9d Hooked: {bid} \u2014 {title}\n   assigned by: deacon"))
    c.step(None, bash(f"bd show {bid}", "Show the assignment", f"{bid}: {title}\nStatus: hooked\nAssignee: deacon/dogs/{dog_name}"))
    if job == "reap":
        n = rnd.randint(0, 40)
        c.step(None, bash("gt reaper scan --db=hq --port=3307 --json", "Count candidates", json.dumps({"db": "hq", "stale_wisps": n, "closed_older_than_days": 7})))
        if n:
            c.step(None, bash("gt reaper reap --db=hq --port=3307 --json", "Reap them", json.dumps({"db": "hq", "reaped": n})))
        done = f"reaped {n} stale wisps"
    elif job == "backup":
        if variant == "secret_env":
            key = planted.add(fake_aws(rnd), "aws_access_key_id")
            c.step(
                "Checking the backup credentials are present.",
                bash("env | grep -E 'AWS|BACKUP'", "Check backup env", f"AWS_ACCESS_KEY_ID={key}\nAWS_DEFAULT_REGION=us-east-1\nBACKUP_BUCKET=s3://acme-gt-backups"),
            )
        c.step(None, bash("dolt backup sync origin", "Sync the backup", "Uploaded 14 chunks\nbackup origin in sync"), )
        c.step(None, bash("gt dolt status", "Check dolt", "dolt sql-server: running (port 3307)\nbackup: in sync"))
        done = "backup synced"
    else:
        c.step(None, bash("gt dolt cleanup", "Clean up orphaned dbs", f"removed {rnd.randint(1, 3)} orphaned databases"))
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
        bash("gt boot status", "Boot status", f"boot: last triage {rnd.randint(3, 12)}m ago (decision: NOTHING)\ndeacon session: hq-deacon"),
    )
    c.step("Is the deacon alive?", bash("tmux has-session -t hq-deacon && echo alive", "Check the deacon session", "alive" if alive else "can't find session: hq-deacon", exit_code=0 if alive else 1))
    if not alive:
        c.step(None, bash("bd show hq-deacon", "Deacon agent bead", f"hq-deacon: deacon\nStatus: running\nLast heartbeat: {rnd.randint(20, 90)}m ago"))
        c.step("No session but the bead says running. Degraded triage.", bash("gt boot triage --degraded", "Degraded triage", "decision: START\n\u2713 deacon session started"))
        c.end_turn("Deacon session was missing; started it.", STOP_HOOK)
        return
    idle = rnd.randint(1, 40)
    c.step(None, bash("gt peek deacon --lines 20", "Look at the deacon's pane", f"\u25cf Patrol cycle complete.\n> \n(idle {idle}m)"))
    c.step(None, bash("gt feed --since 10m", "Recent activity", "" if idle > 15 else f"{rnd.randint(1, 9)}m ago  deacon  heartbeat"))
    if idle > 15:
        c.step("Deacon idle too long. Nudging.", bash('gt nudge deacon "Boot: no heartbeat in 15m. Run your patrol."', "Nudge the deacon", "\u2713 Nudged deacon"))
        c.end_turn("Decision: NUDGE.", STOP_HOOK)
    else:
        c.end_turn("Decision: NOTHING. Deacon is healthy.", STOP_HOOK)


# ---------------------------------------------------------------------------
# crew
# ---------------------------------------------------------------------------

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
    c.human(rnd.choice(CREW_ASKS).format(bead=bid, rig=rig.name, name=name), hook_cmds=_hooks(rnd))
    seq(
        c,
        0.6,
        rnd.choice(("Checking my hook and mail.", None)),
        "Check hook and inbox",
        bash("gt hook", "Check hooked work", "Nothing on hook."),
        bash("gt mail inbox", "Check inbox", "No unread mail." if rnd.random() < 0.6 else f"  1. [unread] hq-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', 4)}  FYI: release freeze Friday  from mayor/  {ago(rnd)}"),
    )
    others = [bead_id(rnd, rig.prefix) for _ in range(rnd.randint(1, 3))]
    if rnd.random() < 0.25:
        c.step(None, bash("bd ready", "Ready work", "\n".join([f"  {bid}  P2  {t.title}"] + [f"  {o}  P3  (other)" for o in others])))
    c.step(f"Claiming {bid}.", bash(f"bd update {bid} --claim", "Claim the bead", f"\u2713 Claimed {bid} ({addr})"))
    c.step(None, read_around(rnd, f"{wt}/{t.path}", t.original, t.edits[0][0]))
    if variant == "secret_json":
        key = planted.add(fake_anthropic(rnd), "anthropic_api_key_in_json")
        cfg = json.dumps({"env": "dev", "llm": {"provider": "anthropic", "api_key": key, "model": "claude-sonnet-4-5"}, "log_level": "debug"}, indent=2)
        c.step("Adding a local config so the summary job can run here.", write(f"{wt}/config/local.json", cfg + "\n"))
    if variant == "secret_env":
        tok = planted.add(fake_github(rnd), "github_token")
        c.step(
            "gh says I'm unauthenticated; checking which token is in the env.",
            bash("env | grep -i token", "Show token env vars", f"GITHUB_TOKEN={tok}\nGT_NUDGE_TOKEN=local"),
        )
    for i, (old, new) in enumerate(t.edits):
        c.step("Making the change." if i == 0 else None, edit(f"{wt}/{t.path}", _apply(t, i), old, new))
    job = PolecatJob(rig, name, wt, bid, bid, "main", t, addr)
    wrote_test = rnd.random() < 0.25
    if wrote_test:
        _write_test(c, job, text=None)
    run_tests(c, rig, t, text=rnd.choice(("Running tests.", None)), thinking="This goes straight to main, so it has to be green here.")
    a, b = short_sha(rnd), short_sha(rnd)
    committed = _commit_out(rnd, "main", t, f"{t.commit} ({bid})", wrote_test, b, 1 if variant == "secret_json" else 0)
    landed = rnd.choice(("Current branch main is up to date.", "Successfully rebased and updated refs/heads/main.")) + f"\nTo {remote(rig)}\n   {a}..{b}  main -> main"
    close = bash(f"bd close {bid}", "Close the bead", f"\u2713 Closed {bid}")
    if rnd.random() < 0.35:
        c.step("Committing.", bash(f'git add -A && git commit -m "{t.commit} ({bid})"', "Commit", committed))
        seq(c, 0.4, "Landing it: rebase on main and push.", "Rebase, push and close the bead", bash("git pull --rebase && git push", "Rebase on origin/main and push", landed), close)
    else:
        seq(
            c,
            0.4,
            "Landing it: commit, rebase on main, push.",
            "Commit, rebase, push to main and close the bead",
            bash(f'git add -A && git commit -m "{t.commit} ({bid})" && git pull --rebase && git push', "Commit, rebase and push to main", committed + "\n" + landed),
            close,
        )
    c.end_turn(f"{bid} landed on main ({b}) and closed.", STOP_HOOK)
    if rnd.random() < 0.2:
        c.human("thanks. let the witness know the fix is on main so polecats rebase")
        c.step(None, bash(f'gt nudge {rig.name}/witness "{bid} landed on main ({b}); polecats touching {t.path} should rebase."', "Nudge the witness", f"\u2713 Nudged {rig.name}/witness"))
        c.end_turn("Told the witness.", STOP_HOOK)


# ---------------------------------------------------------------------------
# not Gas Town
# ---------------------------------------------------------------------------

NOTES = "# Notes\n\n- [Reading list](reading.md)\n- [Todo](todo.md)\n- [Recipes](recipes.md)\n"


def other_project(c: Convo, which: int) -> None:
    wt = c.s.cwd
    if which == 0:
        c.human("add a short intro line at the top of README.md")
        c.step(None, read(f"{wt}/README.md", NOTES))
        c.step(None, edit(f"{wt}/README.md", NOTES, "# Notes\n", "# Notes\n\nPersonal notes, kept in plain markdown.\n"))
        c.step(None, bash("git diff --stat", "Show the diff", " README.md | 2 ++\n 1 file changed, 2 insertions(+)"))
        c.step(None, bash('git commit -am "README: add intro line"', "Commit", "[main 4c1d2e9] README: add intro line\n 1 file changed, 2 insertions(+)"))
        c.end_turn("Added an intro line to README.md and committed it.")
    else:
        c.human("rename todo.md to inbox.md and fix the links")
        c.step(None, bash("git mv todo.md inbox.md", "Rename the file", ""))
        c.step(None, grep("todo\\.md", wt, ["README.md"]))
        c.step(None, read(f"{wt}/README.md", NOTES))
        c.step(None, edit(f"{wt}/README.md", NOTES, "- [Todo](todo.md)", "- [Inbox](inbox.md)"))
        c.end_turn("Renamed todo.md to inbox.md and updated the link in README.md.")


# Generic inner monologue per role, used when a step brings no thought of its own.
THOUGHTS = {
    "polecat": (
        "Follow the molecule step by step; no side quests.",
        "Keep the change small and inside the bead's scope.",
        "Next step on the molecule. Close steps as they finish.",
        "Never push to main; my branch goes to the refinery.",
        "The session ends with gt done, not with waiting around.",
        "If something blocks me, escalate instead of guessing.",
        "Check the result before moving on.",
    ),
    "crew": (
        "Crew pushes straight to main, so rebase before pushing.",
        "Claim before working so nobody else picks it up.",
        "Land the plane: tests, commit, push, close the bead.",
        "Small, focused change; the human can ask for more.",
        "Check the output before the next step.",
    ),
    "mayor": (
        "I coordinate; the code changes go to polecats.",
        "File beads in the rig that owns the code.",
        "Mail first, then decide what to sling.",
        "Track related beads together so progress is visible.",
        "Keep the human's request in scope; don't invent extra work.",
    ),
    "witness": (
        "Peek before nudging; never remove work that isn't pushed.",
        "One patrol step at a time, closing each.",
        "Use gt nudge to wake agents, not tmux send-keys.",
        "Anything I can't fix goes to the mayor.",
        "Patrol state lives in the wisp; squash it when done.",
    ),
    "refinery": (
        "One branch at a time: rebase, test, fast-forward.",
        "The queue comes from gt mq list, not from git branches.",
        "Failing tests block the merge; fix or file.",
        "Conflicts go back to the polecat that owns the branch.",
        "Main must stay green.",
    ),
    "dog": (
        "Work only what's on my hook; no looking for extra tasks.",
        "Report to the deacon with a nudge, never with mail.",
        "Always finish with gt dog done.",
        "Read the assignment, then run the formula.",
    ),
    "boot": (
        "Observe first, then pick the smallest action that helps.",
        "Only nudge if the deacon has been idle too long.",
        "Boot is short-lived: decide and exit.",
    ),
    "deacon": (
        "Patrol steps in order; squash the wisp at the end.",
        "Handle LIFECYCLE mail before anything else.",
        "Keep the heartbeat fresh so boot doesn't wake me.",
        "Town-level only; rig problems belong to the witnesses.",
        "Keep the patrol moving; one cycle, then squash.",
    ),
}
