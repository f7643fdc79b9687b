"""Cut a session's messages into rows that fit the model's sequence_len, counted in tokens.

The unit of cutting is a user message, or an assistant message together with the tool results
answering its calls, so a tool call is never separated from its result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

CountTokens = Callable[[list[dict]], int]


def units(messages: list[dict]) -> list[list[dict]]:
    out: list[list[dict]] = []
    for msg in messages:
        if msg["role"] == "tool" and out and out[-1][0]["role"] == "assistant":
            out[-1].append(msg)
        else:
            out.append([msg])
    return out


def _assistant_turns(rows: list[dict]) -> int:
    return sum(m["role"] == "assistant" for m in rows)


def chunks(
    system: dict,
    messages: list[dict],
    budget: int,
    count: CountTokens,
    dropped: Counter,
    min_assistant_turns: int = 1,
) -> Iterator[tuple[list[dict], int]]:
    """Greedy packing of whole units under `budget` tokens, each row opening with `system`;
    yields (row, its token count)."""
    base = count([system])
    current: list[dict] = []
    used = base
    for unit in units(messages):
        cost = count([system, *unit]) - base
        if base + cost > budget:
            dropped["unit_over_budget"] += 1
            continue
        if current and used + cost > budget:
            yield from _keep(system, current, budget, count, dropped, min_assistant_turns)
            current, used = [], base
        current.extend(unit)
        used += cost
    if current:
        yield from _keep(system, current, budget, count, dropped, min_assistant_turns)


def _keep(system, rows, budget, count, dropped, min_assistant_turns):
    if _assistant_turns(rows) < min_assistant_turns:
        dropped["too_few_assistant_turns"] += 1
        return
    row = [system, *rows]
    # Per-unit costs are additive for ChatML-like templates; check the real total anyway.
    tokens = count(row)
    if tokens > budget:
        dropped["row_over_budget"] += 1
        return
    yield row, tokens
