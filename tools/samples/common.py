"""What several roles share: planted secrets, test runs, patrol wisps, a polecat's job.

Every role module (polecat.py, crew.py, mayor.py, deacon.py, witness.py,
refinery.py) drives one session through a :class:`~tools.samples.convo.Convo`
already bound to a session with the right cwd. The command vocabulary per role
follows Gas Town's role prompts (gt hook, gt done, gt mq list, bd close, ...);
the outputs are invented by us.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .convo import Convo, bash, chain, edit, read, write
from .tasks import Task, tasks_for, test_command, test_fail_output, test_pass_output
from .transcript import B62, TOKEN_CHARS, Rand, Tool
from .vocab import PROMPT_HOOKS, Rig, bead_id, short_sha


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


def start_hooks(rnd: Rand) -> tuple[str, ...]:
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
        tool = bash(
            cmd, desc, out, progress=progress, took_ms=(3000, 12000), timeout=300000 if c.rnd.random() < 0.3 else None
        )
    c.step(text, tool, thinking=thinking or c.rnd.choice(THINK_TEST))


THINK_TEST = (
    "Code change is in. Run the suite before touching git.",
    "Need a green run before committing; the refinery will run it again anyway.",
    "Run tests now so a failure shows up here and not in the merge queue.",
)


# -- a bead worked on a branch: polecats run it, the refinery merges it, crew reuse the shape --


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
    branch = rnd.choice(
        (f"polecat/{name}/{bead}", f"polecat/{name}-{rnd.chars('abcdefghijklmnopqrstuvwxyz0123456789', 6)}")
    )
    return PolecatJob(rig, name, worktree, bead, mol, branch, task, f"{rig.name}/polecats/{name}")


def apply_edits(t: Task, upto: int) -> str:
    text = t.original
    for old, new in t.edits[:upto]:
        text = text.replace(old, new, 1)
    return text


def write_test(c: Convo, job: PolecatJob, text: str | None) -> None:
    t, wt = job.task, job.worktree
    if t.test_original is None:
        c.step(text, write(f"{wt}/{t.test_path}", t.test_edit))  # type: ignore[arg-type]
    else:
        old, new = t.test_edit  # type: ignore[misc]
        if c.rnd.random() < 0.25:
            c.step(None, read(f"{wt}/{t.test_path}", t.test_original))
        c.step(text, edit(f"{wt}/{t.test_path}", t.test_original, old, new))


def git_commit_out(
    rnd: Rand, branch: str, t: Task, msg: str, wrote_test: bool, sha: str | None = None, extra: int = 0
) -> str:
    files = (2 if wrote_test else 1) + extra
    out = f"[{branch} {sha or short_sha(rnd)}] {msg}\n {files} file{'s' if files > 1 else ''} changed, {rnd.randint(6, 30)} insertions(+), {rnd.randint(0, 4)} deletions(-)"
    if wrote_test and t.test_original is None:
        out += f"\n create mode 100644 {t.test_path}"
    return out


# -- patrols (refinery, witness, deacon) ---------------------------------------


def wisp_setup(
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
    hook = bash(
        "gt hook",
        "Check hooked work",
        f"\U0001fa9d Hooked: {wisp} ({formula}, step 1/{nsteps})" if hooked else "Nothing on hook.",
    )
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
        bash(
            f"bd mol wisp {formula}{var}",
            "Create a patrol wisp",
            f"\u2713 Created wisp {wisp} ({formula}, {nsteps} steps)",
        ),
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
