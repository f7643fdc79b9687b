"""Names, rigs and ids the synthetic agents use (the code-change tasks are in tasks.py).

All text here is ours. The rigs are imaginary projects: two Go services and a
Python data pipeline, each with a handful of packages whose source is small
enough to show in a Read result.
"""

from __future__ import annotations

from dataclasses import dataclass

from .transcript import Rand

TOWNS = ("/home/gt/gt", "/home/ubuntu/gt", "/Users/sam/gt")
POLECATS = ("nux", "toast", "slit", "rictus", "capable", "dag", "cheedo", "ace", "morsov", "keeper")
CREW = ("dave", "emma", "priya", "joe")
DOGS = ("alpha", "bravo", "charlie")
VERSIONS = ("2.1.29", "2.1.32", "2.1.34", "2.1.37", "2.1.38", "2.1.39")
SLUG_A = ("quiet", "rusty", "amber", "brisk", "dusty", "steady", "humming", "patient", "gritty", "lucky")
SLUG_B = ("piston", "convoy", "lantern", "harbor", "anvil", "caravan", "compass", "furnace", "signal", "ledger")
SLUG_C = ("wright", "hopper", "lovelace", "turing", "knuth", "ritchie", "hamilton", "liskov", "dijkstra", "kay")
PROMPT_HOOKS = ("gt prime --hook", "gt mail check --inject")
STOP_HOOK = "gt costs record"


@dataclass(frozen=True)
class Pkg:
    path: str  # Go package dir or Python module path
    type_: str
    noun: str


@dataclass(frozen=True)
class Rig:
    name: str
    prefix: str
    lang: str  # "go" | "py"
    module: str
    pkgs: tuple[Pkg, ...]


RIGS = (
    Rig(
        "web-app",
        "wa",
        "go",
        "github.com/acme/web-app",
        (
            Pkg("internal/auth", "Session", "session"),
            Pkg("internal/billing", "Invoice", "invoice"),
            Pkg("internal/accounts", "User", "user"),
            Pkg("internal/export", "Report", "report"),
        ),
    ),
    Rig(
        "data-pipeline",
        "dp",
        "py",
        "pipeline",
        (
            Pkg("pipeline/ingest/orders", "OrderRow", "order"),
            Pkg("pipeline/transform/events", "EventRow", "event"),
            Pkg("pipeline/load/metrics", "MetricRow", "metric"),
            Pkg("pipeline/ingest/payments", "PaymentRow", "payment"),
        ),
    ),
    Rig(
        "infra-tools",
        "it",
        "go",
        "github.com/acme/infra-tools",
        (
            Pkg("internal/deploy", "Release", "release"),
            Pkg("internal/dns", "Record", "record"),
            Pkg("internal/backup", "Snapshot", "snapshot"),
            Pkg("internal/alerts", "Rule", "rule"),
        ),
    ),
)


def slug(rnd: Rand) -> str:
    return f"{rnd.choice(SLUG_A)}-{rnd.choice(SLUG_B)}-{rnd.choice(SLUG_C)}"


def bead_id(rnd: Rand, prefix: str) -> str:
    return f"{prefix}-{rnd.chars('abcdefghijkmnpqrstuvwxyz23456789', rnd.choice((3, 4, 4, 5)))}"


def short_sha(rnd: Rand) -> str:
    return rnd.hex(7)


def ago(rnd: Rand) -> str:
    return rnd.choice((f"{rnd.randint(2, 55)}m ago", f"{rnd.randint(1, 5)}h ago"))


def remote(rig: Rig) -> str:
    return f"github.com:acme/{rig.name}.git"
