"""Replay held-out decisions: does the model make the call the real agent made?

A decision point is a trained assistant message that calls a tool, with the messages before it
as its context: the last message of a decision row (datasets/decisions.py), or each such message
of a session chunk. The model replies greedily to the context, rendered with the same chat
template as training; generation stops once the first tool call's JSON is complete (a decision
needs no essay). Per model:

- parse_rate: the reply's first `<tool_call>` holds a JSON object with a string `name` and an
  object `arguments`;
- tool_accuracy: its name is the real call's;
- command_accuracy: same tool and, for Bash, the same first two words of the command
  (`bd close`, `gt mail`); for other tools the tool alone;
- latency_p50_s / latency_p95_s: wall time per reply, prompt processing included.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from gastown_assets.datasets.decisions import is_trained
from gastown_assets.datasets.tokens import as_trained

CALL_OPEN = "<tool_call>"
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class DecisionPoint:
    session_id: str
    context: list[dict]  # system prompt first; rendered with add_generation_prompt
    call: dict  # the real call: {"name", "arguments"}


@dataclass(frozen=True)
class Reply:
    text: str
    call: dict | None  # the parsed first call, None when there is none well formed
    seconds: float
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Metrics(BaseModel):
    """One model's replay of the decision points (report.json's `replay.base`/`replay.adapter`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    points: int
    parse_rate: float
    tool_accuracy: float
    command_accuracy: float
    latency_p50_s: float
    latency_p95_s: float


def _call(message: dict) -> dict:
    fn = message["tool_calls"][0]["function"]
    args = fn["arguments"]
    return {"name": fn["name"], "arguments": json.loads(args) if isinstance(args, str) else args}


def decision_points(rows: Iterable[dict]) -> list[DecisionPoint]:
    """Every trained tool-calling assistant message of the rows, with the messages before it."""
    points = []
    for row in rows:
        messages = row["messages"]
        for i, message in enumerate(messages):
            if i and is_trained(message) and message.get("tool_calls"):
                points.append(DecisionPoint(str(row.get("session_id", "")), messages[:i], _call(message)))
    return points


def sample(points: list[DecisionPoint], limit: int | None) -> list[DecisionPoint]:
    """A stable sample spread over sessions and positions (not the first N of the first file)."""
    if limit is None or len(points) <= limit:
        return points

    def key(ip):
        i, p = ip
        return hashlib.blake2b(f"{p.session_id}:{i}".encode(), digest_size=8).digest()

    chosen = sorted(sorted(enumerate(points), key=key)[:limit])
    return [p for _, p in chosen]


def first_call(text: str) -> dict | None:
    """The first tool call of a reply, if it is well formed: a name and an argument object."""
    start = text.find(CALL_OPEN)
    if start < 0:
        return None
    body = text[start + len(CALL_OPEN) :].lstrip()
    try:
        call, _ = _DECODER.raw_decode(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        return None
    args = call.get("arguments")
    if isinstance(args, str):  # arguments as a JSON string (OpenAI style) are accepted too
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            return None
    return {"name": call["name"], "arguments": args} if isinstance(args, dict) else None


def command_key(call: dict) -> tuple:
    """What command_accuracy compares: the tool, and for Bash the first two words."""
    if call["name"] == "Bash":
        command = call["arguments"].get("command")
        return ("Bash", *(command.split()[:2] if isinstance(command, str) else ()))
    return (call["name"],)


def score(points: list[DecisionPoint], replies: list[Reply]) -> Metrics:
    n = len(points)
    parsed = [r.call for r in replies]
    tools = sum(c is not None and c["name"] == p.call["name"] for p, c in zip(points, parsed))
    commands = sum(c is not None and command_key(c) == command_key(p.call) for p, c in zip(points, parsed))
    seconds = sorted(r.seconds for r in replies)
    return Metrics(
        points=n,
        parse_rate=round(sum(c is not None for c in parsed) / n, 4) if n else 0.0,
        tool_accuracy=round(tools / n, 4) if n else 0.0,
        command_accuracy=round(commands / n, 4) if n else 0.0,
        latency_p50_s=round(statistics.median(seconds), 3) if seconds else 0.0,
        latency_p95_s=round(_percentile(seconds, 0.95), 3) if seconds else 0.0,
    )


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return values[min(len(values) - 1, max(0, round(q * len(values) + 0.5) - 1))]


class CallComplete:
    """Stops generation once the reply's first tool call is a complete JSON object."""

    def __init__(self, tokenizer, prompt_len: int):
        self.tokenizer, self.prompt_len = tokenizer, prompt_len

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        text = self.tokenizer.decode(input_ids[0, self.prompt_len :], skip_special_tokens=False)
        done = first_call(text) is not None
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


def reply(model, tokenizer, context: list[dict], max_new_tokens: int, **sampling) -> Reply:
    """One greedy reply to a context, timed from the rendered prompt to the last token.
    `sampling` (do_sample, temperature, top_p: the serving endpoint's) overrides greedy decoding."""
    import torch
    from transformers import StoppingCriteriaList

    started = time.perf_counter()
    ids = tokenizer.apply_chat_template(
        as_trained(context), add_generation_prompt=True, return_tensors="pt", return_dict=True
    )["input_ids"].to(model.device)
    stop = StoppingCriteriaList([CallComplete(tokenizer, ids.shape[1])])
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            stopping_criteria=stop,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            **{"do_sample": False, **sampling},
        )
    new = out[0, ids.shape[1] :]
    text = tokenizer.decode(new, skip_special_tokens=True)
    return Reply(text, first_call(text), time.perf_counter() - started, ids.shape[1], len(new))


def replay(
    model,
    tokenizer,
    points: list[DecisionPoint],
    max_new_tokens: int,
    log: Callable[[str], None] | None = None,
    name: str = "model",
) -> list[Reply]:
    """Replies to every point; `log` hears of progress every tenth of the way."""
    model.eval()
    replies, every = [], max(1, len(points) // 10)
    for i, point in enumerate(points, 1):
        replies.append(reply(model, tokenizer, point.context, max_new_tokens))
        if log and (i % every == 0 or i == len(points)):
            log(f"{name}: replayed {i}/{len(points)} held-out decisions")
    return replies
