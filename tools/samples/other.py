"""Sessions outside Gas Town (a notes project): they must be tagged with no role."""

from __future__ import annotations

from .convo import Convo, bash, edit, grep, read

NOTES = "# Notes\n\n- [Reading list](reading.md)\n- [Todo](todo.md)\n- [Recipes](recipes.md)\n"


def other_project(c: Convo, which: int) -> None:
    wt = c.s.cwd
    if which == 0:
        c.human("add a short intro line at the top of README.md")
        c.step(None, read(f"{wt}/README.md", NOTES))
        c.step(
            None, edit(f"{wt}/README.md", NOTES, "# Notes\n", "# Notes\n\nPersonal notes, kept in plain markdown.\n")
        )
        c.step(None, bash("git diff --stat", "Show the diff", " README.md | 2 ++\n 1 file changed, 2 insertions(+)"))
        c.step(
            None,
            bash(
                'git commit -am "README: add intro line"',
                "Commit",
                "[main 4c1d2e9] README: add intro line\n 1 file changed, 2 insertions(+)",
            ),
        )
        c.end_turn("Added an intro line to README.md and committed it.")
    else:
        c.human("rename todo.md to inbox.md and fix the links")
        c.step(None, bash("git mv todo.md inbox.md", "Rename the file", ""))
        c.step(None, grep("todo\\.md", wt, ["README.md"]))
        c.step(None, read(f"{wt}/README.md", NOTES))
        c.step(None, edit(f"{wt}/README.md", NOTES, "- [Todo](todo.md)", "- [Inbox](inbox.md)"))
        c.end_turn("Renamed todo.md to inbox.md and updated the link in README.md.")
