"""Cut a session's messages into rows that fit the model's sequence_len, counted in tokens.

The unit of cutting is a user message, or an assistant message together with the tool results
answering its calls, so a tool call is never separated from its result. Token counts come from
the model's own chat template and tokenizer, batched per session.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

# Tokens of each conversation as the model's chat template renders it (batched).
CountTokens = Callable[[list[list[dict]]], list[int]]

# A unit's cost is measured after an empty system message, not the real (long) one, and without
# it some templates (Qwen2.5) would insert their default system prompt.
_EMPTY_SYSTEM = {"role": "system", "content": ""}
# Costs add up exactly for ChatML-like templates; rows this close to the budget are recounted.
RECOUNT_MARGIN = 8


def units(messages: list[dict]) -> list[list[dict]]:
    out: list[list[dict]] = []
    for msg in messages:
        if msg["role"] == "tool" and out and out[-1][0]["role"] == "assistant":
            out[-1].append(msg)
        else:
            out.append([msg])
    return out


def _pack(costs: list[int], base: int, budget: int, overlap: int, dropped: Counter) -> list[list[int]]:
    """Greedy packing of unit indices; `overlap` trailing units of a row open the next one."""
    groups: list[list[int]] = []
    current: list[int] = []
    used = base
    for i, cost in enumerate(costs):
        if base + cost > budget:
            dropped["unit_over_budget"] += 1
            continue
        if current and used + cost > budget:
            groups.append(current)
            current = current[-overlap:] if overlap else []
            used = base + sum(costs[j] for j in current)
            if used + cost > budget:
                current, used = [], base
        current.append(i)
        used += cost
    if current:
        groups.append(current)
    return groups


def chunks(
    system: dict,
    messages: list[dict],
    budget: int,
    count: CountTokens,
    dropped: Counter,
    min_assistant_turns: int = 1,
    overlap_units: int = 0,
) -> list[tuple[list[dict], int]]:
    """Rows (each opening with `system`) and their token counts, every one within `budget`."""
    pieces = units(messages)
    if not pieces:
        return []
    base, empty, *costs = count([[system], [_EMPTY_SYSTEM]] + [[_EMPTY_SYSTEM, *u] for u in pieces])
    costs = [c - empty for c in costs]
    rows: list[tuple[list[dict], int]] = []
    for group in _pack(costs, base, budget, overlap_units, dropped):
        row = [system] + [m for i in group for m in pieces[i]]
        if sum(m["role"] == "assistant" for m in row) < min_assistant_turns:
            dropped["too_few_assistant_turns"] += 1
        else:
            rows.append((row, base + sum(costs[i] for i in group)))
    return within_budget(rows, budget, count, dropped)


def within_budget(rows: list[tuple[dict, int]], budget: int, count: CountTokens, dropped: Counter) -> list:
    """Rows whose estimate is near the budget recounted exactly; rows over it dropped (counted)."""
    near = [i for i, (_, estimate) in enumerate(rows) if estimate > budget - RECOUNT_MARGIN]
    for i, tokens in zip(near, count([rows[i][0] for i in near]) if near else []):
        rows[i] = (rows[i][0], tokens)
    kept = [(row, tokens) for row, tokens in rows if tokens <= budget]
    if len(kept) < len(rows):
        dropped["row_over_budget"] += len(rows) - len(kept)
    return kept
