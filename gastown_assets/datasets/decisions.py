"""Decision rows: the context an agent had, and the one tool call it made next.

One row per assistant message that calls a tool. The row opens with the role's system prompt,
then as many of the preceding units (a user message, or an assistant message with the tool
results answering it) as fit the token budget, newest kept (the last one in detail, older ones
brief: what ran and a few words of what it printed), then the decision: an assistant
message holding only the first call, no prose (the seed's finding: pure JSON calls are what a
135M model emits reliably, and a decision needs no essay). Only the decision is trained on:
earlier assistant messages carry `"training": false`, which Axolotl's `message_field_training`
and our held-out loss both honour. The replay evaluation cuts its prompts from these very rows.
"""

from __future__ import annotations

from collections import Counter

import orjson

from .chunk import _EMPTY_SYSTEM, CountTokens, units, within_budget
from .rows import clip

TRAINING = "training"  # per-message flag (Axolotl's message_field_training)
RECENT = 1  # units before a decision shown in detail; older ones are brief
BRIEF_CHARS = 40  # an older call's arguments, each; its result and older prompts get twice that
# Tool results that say the call itself was a mistake (not that the command failed): Claude
# Code's invalid-call error, or the user rejecting the call. Not a decision to learn from.
FAILED_CALL_STARTS = (
    "<tool_use_error>",
    "the user doesn't want to proceed with this tool use",
    "[request interrupted by user",
)


def is_trained(message: dict) -> bool:
    return message.get("role") == "assistant" and message.get(TRAINING) is not False


def _decision(message: dict) -> dict:
    return {"role": "assistant", "content": "", "tool_calls": message["tool_calls"][:1]}


def _clip_arguments(message: dict, cut) -> dict:
    """Earlier calls in a context keep their shape with long string arguments (an Edit's code, a
    Write's file) cut, as tool output is: the decision needs what was done, not every byte of
    it. The decision's own call is never cut."""
    calls = []
    for call in message.get("tool_calls") or ():
        args = orjson.loads(call["function"]["arguments"])
        if isinstance(args, dict):
            args = {k: cut(v) if isinstance(v, str) else v for k, v in args.items()}
        calls.append({**call, "function": {**call["function"], "arguments": orjson.dumps(args).decode()}})
    return {**message, "tool_calls": calls} if calls else message


def _text(content, limit: int):
    return clip(content, limit) if isinstance(content, str) else content


def _brief(text: str, limit: int) -> str:
    """Head and tail joined by an ellipsis: a bead id and a verdict in a few tokens."""
    return text if len(text) <= limit else f"{text[: limit // 2].rstrip()}…{text[-(limit // 2) :].lstrip()}"


def _as_context(unit: list[dict], limit: int) -> list[dict]:
    """A unit as RECENT context: tool output cut to `limit`, prose and prompts to twice that (a
    pasted document or a long summary must not crowd out the turns that led to the decision),
    earlier calls' long arguments cut, assistant turns marked untrained."""
    out = []
    for m in unit:
        if m["role"] == "assistant":
            m = {
                **_clip_arguments(m, lambda v: clip(v, limit)),
                "content": _text(m["content"], 2 * limit),
                TRAINING: False,
            }
        else:
            m = {**m, "content": _text(m["content"], limit if m["role"] == "tool" else 2 * limit)}
        out.append(m)
    return out


def _as_brief(unit: list[dict]) -> list[dict]:
    """An older unit: the call without its prose, every argument and result cut to a few words."""
    out = []
    for m in unit:
        if m["role"] == "assistant":
            m = {**_clip_arguments(m, lambda v: _brief(v, BRIEF_CHARS)), "content": "", TRAINING: False}
        elif isinstance(m.get("content"), str):
            m = {**m, "content": _brief(m["content"], 2 * BRIEF_CHARS)}
        out.append(m)
    return out


def _failed(unit: list[dict]) -> bool:
    """The first call's own result reads as an invalid or rejected call."""
    call_id = unit[0]["tool_calls"][0].get("id")
    for m in unit[1:]:
        if m.get("tool_call_id") == call_id:
            return str(m.get("content", "")).lstrip()[:80].lower().startswith(FAILED_CALL_STARTS)
    return False


def decision_rows(
    system: dict,
    messages: list[dict],
    budget: int,
    count: CountTokens,
    dropped: Counter,
    max_argument_chars: int,
) -> list[tuple[list[dict], int]]:
    """(row, tokens) for every decision in `messages`, each row within `budget` tokens.

    The unit just before a decision keeps `max_argument_chars` of tool output (twice that of
    prose); older ones are brief, so a small budget still shows the steps that led here (which
    commands ran, the head and tail of what they printed: a bead id, a test verdict)."""
    original = units(messages)
    views = [[_as_context(u, max_argument_chars) for u in original], [_as_brief(u) for u in original]]
    points = [k for k, u in enumerate(original) if u[0]["role"] == "assistant" and u[0].get("tool_calls")]
    if not points:
        return []
    decisions = [[_decision(original[k][0])] for k in points]
    n = len(original)
    base, empty, *costs = count(
        [[system], [_EMPTY_SYSTEM]] + [[_EMPTY_SYSTEM, *u] for u in views[0] + views[1] + decisions]
    )
    costs = [c - empty for c in costs]
    full, brief, decision_costs = costs[:n], costs[n : 2 * n], costs[2 * n :]
    rows: list[tuple[list[dict], int]] = []
    for k, decision, cost in zip(points, decisions, decision_costs):
        if _failed(original[k]):
            dropped["failed_call"] += 1
            continue
        used = base + cost
        if used > budget:
            dropped["decision_over_budget"] += 1
            continue
        context: list[list[dict]] = []
        for j in range(k - 1, -1, -1):
            detail = 0 if k - 1 - j < RECENT else 1
            unit_cost = (full, brief)[detail][j]
            if used + unit_cost > budget:
                break
            used += unit_cost
            context.append(views[detail][j])
        rows.append(([system, *(m for unit in reversed(context) for m in unit), *decision], used))
    # Costs add up exactly for ChatML-like templates; recount rows near the budget to be sure.
    return within_budget(rows, budget, count, dropped)
