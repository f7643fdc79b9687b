"""Small code-change tasks in the rigs' packages, their source files and test-run outputs.

All text here is ours (see vocab.py for the rigs themselves).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .transcript import Rand
from .vocab import Pkg, Rig

# -- source files -----------------------------------------------------------


def go_source(pkg: Pkg) -> str:
    p = pkg.path.rsplit("/", 1)[1]
    T, n = pkg.type_, pkg.noun
    return f"""package {p}

import (
\t"errors"
\t"fmt"
\t"sort"
)

type {T} struct {{
\tID    string
\tName  string
\tLimit int
}}

var Err{T}NotFound = errors.New("{p}: {n} not found")

type Store struct {{
\titems map[string]*{T}
}}

func (s *Store) Get(id string) (*{T}, error) {{
\tv, ok := s.items[id]
\tif !ok {{
\t\treturn nil, Err{T}NotFound
\t}}
\treturn v, nil
}}

// List returns up to n {n}s starting at offset, ordered by id.
func (s *Store) List(offset, n int) []*{T} {{
\tout := make([]*{T}, 0, len(s.items))
\tfor _, v := range s.items {{
\t\tout = append(out, v)
\t}}
\tsort.Slice(out, func(i, j int) bool {{ return out[i].ID < out[j].ID }})
\treturn out[offset : offset+n]
}}

func Validate(v *{T}) error {{
\tif v.ID == "" {{
\t\treturn fmt.Errorf("{n}: empty id")
\t}}
\treturn nil
}}
"""


def go_test_source(pkg: Pkg) -> str:
    p = pkg.path.rsplit("/", 1)[1]
    T = pkg.type_
    return f"""package {p}

import "testing"

func TestValidate(t *testing.T) {{
\tcases := []struct {{
\t\tname string
\t\tin   {T}
\t\tok   bool
\t}}{{
\t\t{{"valid", {T}{{ID: "a1", Name: "x", Limit: 1}}, true}},
\t\t{{"empty id", {T}{{Name: "x"}}, false}},
\t}}
\tfor _, c := range cases {{
\t\terr := Validate(&c.in)
\t\tif (err == nil) != c.ok {{
\t\t\tt.Fatalf("%s: got err=%v", c.name, err)
\t\t}}
\t}}
}}
"""


def py_source(pkg: Pkg) -> str:
    stage = pkg.path.split("/")[1]
    T, n = pkg.type_, pkg.noun
    return f'''"""{stage.capitalize()} step for {n} rows."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)


@dataclass
class {T}:
    key: str
    ts: datetime
    value: float


def parse(raw: dict) -> {T}:
    return {T}(key=raw["key"], ts=datetime.fromisoformat(raw["ts"]), value=float(raw["value"]))


def run(batch: list[dict]) -> list[{T}]:
    rows = [parse(r) for r in batch]
    log.info("{stage}: %d {n} rows", len(rows))
    return rows


def dedupe(rows: list[{T}]) -> list[{T}]:
    seen: dict[str, {T}] = {{}}
    for r in rows:
        seen[r.key] = r
    return list(seen.values())
'''


@dataclass
class Task:
    title: str
    description: str
    path: str  # relative to the worktree
    original: str
    edits: list[tuple[str, str]]
    test_path: str
    test_original: str | None  # None: the test file is written fresh
    test_edit: tuple[str, str] | str  # (old, new) for Edit, or full content for Write
    commit: str
    grep: str
    fail_name: str
    fail_line: str
    lang: str
    pkg: Pkg = field(repr=False, default=None)  # type: ignore[assignment]

    def final(self) -> str:
        text = self.original
        for old, new in self.edits:
            text = text.replace(old, new, 1)
        return text


def _go_tasks(rig: Rig, pkg: Pkg) -> list[Task]:
    p = pkg.path.rsplit("/", 1)[1]
    T, n = pkg.type_, pkg.noun
    src = go_source(pkg)
    tsrc = go_test_source(pkg)
    path = f"{pkg.path}/{p}.go"
    tpath = f"{pkg.path}/{p}_test.go"
    valid_old = f'\tif v.ID == "" {{\n\t\treturn fmt.Errorf("{n}: empty id")\n\t}}'
    case_old = f'\t\t{{"empty id", {T}{{Name: "x"}}, false}},'
    tasks = [
        Task(
            f"Reject {n}s with an empty name",
            f'Validate() lets a {n} through with Name == "". The UI then shows a blank row. Return an error instead and cover it in TestValidate.',
            path,
            src,
            [
                (
                    valid_old,
                    valid_old + f'\n\tif v.Name == "" {{\n\t\treturn fmt.Errorf("{n} %s: empty name", v.ID)\n\t}}',
                )
            ],
            tpath,
            tsrc,
            (case_old, case_old + f'\n\t\t{{"empty name", {T}{{ID: "a2"}}, false}},'),
            f"{p}: reject {n}s with an empty name",
            "func Validate",
            "TestValidate",
            f"{p}_test.go:19: empty name: got err=<nil>",
            "go",
        ),
        Task(
            f"Negative Limit accepted on {T}",
            f"A {n} saved with Limit < 0 makes the quota check wrap around. Validate should refuse it.",
            path,
            src,
            [
                (
                    valid_old,
                    valid_old
                    + f'\n\tif v.Limit < 0 {{\n\t\treturn fmt.Errorf("{n} %s: negative limit %d", v.ID, v.Limit)\n\t}}',
                )
            ],
            tpath,
            tsrc,
            (case_old, case_old + f'\n\t\t{{"negative limit", {T}{{ID: "a3", Name: "x", Limit: -1}}, false}},'),
            f"{p}: refuse negative limits",
            "Limit",
            "TestValidate",
            f"{p}_test.go:19: negative limit: got err=<nil>",
            "go",
        ),
        Task(
            f"{p}.Store.List panics past the last page",
            f"Asking for a page beyond the end of the {n} list slices out of range and the handler returns 500. Clamp offset and n.",
            path,
            src,
            [
                (
                    "\treturn out[offset : offset+n]",
                    "\tif offset >= len(out) {\n\t\treturn nil\n\t}\n\tend := offset + n\n\tif end > len(out) {\n\t\tend = len(out)\n\t}\n\treturn out[offset:end]",
                )
            ],
            f"{pkg.path}/list_test.go",
            None,
            f'package {p}\n\nimport "testing"\n\nfunc TestListPastEnd(t *testing.T) {{\n\ts := &Store{{items: map[string]*{T}{{"a": {{ID: "a"}}, "b": {{ID: "b"}}}}}}\n\tif got := s.List(1, 5); len(got) != 1 {{\n\t\tt.Fatalf("want 1 item, got %d", len(got))\n\t}}\n\tif got := s.List(9, 5); got != nil {{\n\t\tt.Fatalf("want nil past the end, got %v", got)\n\t}}\n}}\n',
            f"{p}: clamp List pagination to the store size",
            "func (s \\*Store) List",
            "TestListPastEnd",
            "panic: runtime error: slice bounds out of range [:6] with capacity 2",
            "go",
        ),
        Task(
            f"Include the id in {p} not-found errors",
            f'Logs only say "{n} not found" with no id, so on-call can\'t tell which one. Wrap Err{T}NotFound with the id; callers use errors.Is so this is safe.',
            path,
            src,
            [
                (
                    "\t\treturn nil, Err" + T + "NotFound",
                    f'\t\treturn nil, fmt.Errorf("get {n} %q: %w", id, Err{T}NotFound)',
                )
            ],
            f"{pkg.path}/get_test.go",
            None,
            f'package {p}\n\nimport (\n\t"errors"\n\t"strings"\n\t"testing"\n)\n\nfunc TestGetNotFoundHasID(t *testing.T) {{\n\ts := &Store{{items: map[string]*{T}{{}}}}\n\t_, err := s.Get("zz9")\n\tif !errors.Is(err, Err{T}NotFound) || !strings.Contains(err.Error(), "zz9") {{\n\t\tt.Fatalf("unexpected error: %v", err)\n\t}}\n}}\n',
            f"{p}: wrap not-found errors with the {n} id",
            f"Err{T}NotFound",
            "TestGetNotFoundHasID",
            f"get_test.go:13: unexpected error: {p}: {n} not found",
            "go",
        ),
    ]
    for t in tasks:
        t.pkg = pkg
    return tasks


def _py_tasks(rig: Rig, pkg: Pkg) -> list[Task]:
    mod = pkg.path.rsplit("/", 1)[1]
    stage = pkg.path.split("/")[1]
    T, n = pkg.type_, pkg.noun
    src = py_source(pkg)
    path = f"{pkg.path}.py"
    dotted = pkg.path.replace("/", ".")
    tasks = [
        Task(
            f"{stage}: empty {n} batch crashes the nightly run",
            "When the upstream export is empty, run() still logs and downstream divides by len(rows). Return early on an empty batch.",
            path,
            src,
            [
                (
                    "    rows = [parse(r) for r in batch]",
                    f'    if not batch:\n        log.warning("{stage}: empty {n} batch, skipping")\n        return []\n    rows = [parse(r) for r in batch]',
                )
            ],
            f"tests/test_{mod}_empty.py",
            None,
            f"from {dotted} import run\n\n\ndef test_empty_batch_returns_empty_list():\n    assert run([]) == []\n",
            f"{stage}: return early on an empty {n} batch",
            "def run",
            "test_empty_batch_returns_empty_list",
            "E       ZeroDivisionError: division by zero",
            "py",
        ),
        Task(
            f"Parse {n} timestamps as UTC",
            f"Naive datetimes from the {n} feed compare wrong against the warehouse, which is UTC. Normalise in parse().",
            path,
            src,
            [
                ("from datetime import datetime", "from datetime import datetime, timezone"),
                (
                    'ts=datetime.fromisoformat(raw["ts"])',
                    'ts=datetime.fromisoformat(raw["ts"]).astimezone(timezone.utc)',
                ),
            ],
            f"tests/test_{mod}_tz.py",
            None,
            f'from datetime import timezone\n\nfrom {dotted} import parse\n\n\ndef test_parse_returns_utc():\n    row = parse({{"key": "k", "ts": "2026-01-05T10:00:00+02:00", "value": "1"}})\n    assert row.ts.tzinfo == timezone.utc\n    assert row.ts.hour == 8\n',
            f"{stage}: normalise {n} timestamps to UTC",
            "fromisoformat",
            "test_parse_returns_utc",
            "E       AssertionError: assert None == datetime.timezone.utc",
            "py",
        ),
        Task(
            f"dedupe keeps a stale {n} row",
            f"dedupe() keeps whichever row came last in the batch, not the newest by ts. Late-arriving {n}s overwrite fresh ones.",
            path,
            src,
            [
                (
                    "        seen[r.key] = r",
                    "        cur = seen.get(r.key)\n        if cur is None or r.ts >= cur.ts:\n            seen[r.key] = r",
                )
            ],
            f"tests/test_{mod}_dedupe.py",
            None,
            f'from datetime import datetime\n\nfrom {dotted} import {T}, dedupe\n\n\ndef test_dedupe_keeps_newest():\n    old = {T}("k", datetime(2026, 1, 2), 1.0)\n    new = {T}("k", datetime(2026, 1, 3), 2.0)\n    assert dedupe([new, old]) == [new]\n',
            f"{stage}: keep the newest {n} row per key",
            "def dedupe",
            "test_dedupe_keeps_newest",
            f"E       AssertionError: assert [{T}(key='k', ts=datetime.datetime(2026, 1, 2, 0, 0), value=1.0)] == [{T}(key='k', ts=datetime.datetime(2026, 1, 3, 0, 0), value=2.0)]",
            "py",
        ),
        Task(
            f"Skip {n} rows without a value",
            f"Some {n} records arrive with value missing and parse() raises KeyError, which kills the whole batch. Drop them with a warning.",
            path,
            src,
            [
                (
                    "    rows = [parse(r) for r in batch]",
                    f'    rows = []\n    for r in batch:\n        if r.get("value") in (None, ""):\n            log.warning("{stage}: dropping {n} %s without value", r.get("key"))\n            continue\n        rows.append(parse(r))',
                )
            ],
            f"tests/test_{mod}_missing.py",
            None,
            f'from {dotted} import run\n\n\ndef test_rows_without_value_are_dropped():\n    batch = [{{"key": "a", "ts": "2026-01-05T00:00:00", "value": "3"}}, {{"key": "b", "ts": "2026-01-05T00:00:00"}}]\n    assert [r.key for r in run(batch)] == ["a"]\n',
            f"{stage}: drop {n} rows that have no value",
            "parse\\(r\\)",
            "test_rows_without_value_are_dropped",
            "E       KeyError: 'value'",
            "py",
        ),
    ]
    for t in tasks:
        t.pkg = pkg
    return tasks


def tasks_for(rig: Rig) -> list[Task]:
    out: list[Task] = []
    for pkg in rig.pkgs:
        out.extend(_go_tasks(rig, pkg) if rig.lang == "go" else _py_tasks(rig, pkg))
    return out


# -- command outputs ----------------------------------------------------------


def test_command(rig: Rig) -> tuple[str, str]:
    if rig.lang == "go":
        return "go test ./...", "Run the Go test suite"
    return "pytest -q", "Run the test suite"


def test_pass_output(rnd: Rand, rig: Rig, changed: Pkg | None = None) -> str:
    if rig.lang == "go":
        lines = []
        for pkg in rig.pkgs:
            if pkg is changed:
                lines.append(f"ok  \t{rig.module}/{pkg.path}\t{rnd.uniform(0.01, 0.9):.3f}s")
            elif rnd.random() < 0.4:
                lines.append(f"ok  \t{rig.module}/{pkg.path}\t(cached)")
        if rnd.random() < 0.5:
            lines.insert(0, f"?   \t{rig.module}/cmd/{rig.name}\t[no test files]")
        return "\n".join(lines)
    total = rnd.randint(38, 96)
    dots = "." * min(total, 60)
    return f"{dots}{' ' * (60 - len(dots))} [100%]\n{total} passed in {rnd.uniform(0.6, 4.5):.2f}s"


def test_fail_output(rnd: Rand, rig: Rig, task: Task) -> str:
    if rig.lang == "go":
        p = task.pkg.path
        return (
            f"--- FAIL: {task.fail_name} ({rnd.uniform(0, 0.02):.2f}s)\n    {task.fail_line}\nFAIL\n"
            f"FAIL\t{rig.module}/{p}\t{rnd.uniform(0.1, 0.6):.3f}s\nFAIL"
        )
    total = rnd.randint(38, 96)
    test_file = task.test_path.rsplit("/", 1)[1]
    return (
        f"{'.' * 20}F{'.' * 10}                             [100%]\n"
        f"=================================== FAILURES ===================================\n"
        f"_____ {task.fail_name} _____\n\n{task.fail_line}\n\n{test_file}:6: {task.fail_line.split(':', 1)[0].split()[-1]}\n"
        f"=========================== short test summary info ============================\n"
        f"FAILED {task.test_path}::{task.fail_name}\n1 failed, {total - 1} passed in {rnd.uniform(0.6, 4.5):.2f}s"
    )
