"""The OpenAI-compatible endpoint: `/v1/chat/completions` and `/v1/models` (FastAPI).

`model` is a role name (its adapter) or `base`. Messages are rendered with the training chat
template (tool-call arguments as JSON strings or objects, `tool` results, list-of-parts text);
`tools` and `tool_choice` are accepted but not rendered: the template has no tool-schema section,
as the training rows had none. A reply's first `<tool_call>` block comes back as an OpenAI
`tool_calls` entry with `finish_reason: "tool_calls"`. With `stream: true` the whole reply is
sent as chunks once generated. Errors use OpenAI's shape: 404 for an unknown model (naming the
models served), 400 for a malformed request (naming the field).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gastown_assets.evaluation.replay import CALL_OPEN, Reply
from gastown_assets.serving.engine import Engine, UnknownModel

DEFAULT_MAX_TOKENS = 256
ROLES = {"system", "user", "assistant", "tool", "developer"}


class BadRequest(ValueError):
    def __init__(self, param: str, message: str):
        self.param = param
        super().__init__(f"{param}: {message}")


class ChatRequest(BaseModel):
    """The fields this endpoint reads; other OpenAI fields (logprobs, user, …) are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[dict[str, Any]] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    n: int | None = Field(default=None, ge=1, le=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = False
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None


def parse_request(body: Any) -> ChatRequest:
    if not isinstance(body, dict):
        raise BadRequest("<body>", "expected a JSON object")
    try:
        return ChatRequest.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BadRequest(".".join(str(p) for p in err["loc"]) or "<body>", err["msg"]) from None


def _text(content: Any, where: str) -> str:
    """A message's content: a string, or a list of text parts (images and audio are refused)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for i, part in enumerate(content):
            if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
                raise BadRequest(f"{where}[{i}]", "only text parts are served")
            parts.append(part["text"])
        return "".join(parts)
    raise BadRequest(where, "must be a string or a list of text parts")


def to_context(messages: list[dict[str, Any]]) -> list[dict]:
    """OpenAI chat messages -> the rows' message shape the chat template renders (replay.reply
    parses tool-call arguments given as JSON strings, as training did)."""
    out = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        role = m.get("role")
        if role not in ROLES:
            raise BadRequest(f"{where}.role", f"{role!r} is not one of {sorted(ROLES)}")
        if role == "developer":
            role = "system"
        msg: dict[str, Any] = {"role": role}
        calls = m.get("tool_calls") if role == "assistant" else None
        if m.get("content") is None:
            if not calls:
                raise BadRequest(f"{where}.content", "required (a string or text parts)")
        else:
            msg["content"] = _text(m["content"], f"{where}.content")
        if calls:
            msg["tool_calls"] = [_call(c, f"{where}.tool_calls[{j}]") for j, c in enumerate(calls)]
        out.append(msg)
    return out


def _call(call: Any, where: str) -> dict:
    fn = call.get("function") if isinstance(call, dict) else None
    if not (isinstance(fn, dict) and isinstance(fn.get("name"), str)):
        raise BadRequest(f"{where}.function", "needs a name and arguments")
    args = fn.get("arguments", "{}")
    if isinstance(args, str):
        try:
            parsed = json.loads(args or "{}")
        except json.JSONDecodeError as exc:
            raise BadRequest(f"{where}.function.arguments", f"not JSON: {exc}") from None
    else:
        parsed = args
    if not isinstance(parsed, dict):
        raise BadRequest(f"{where}.function.arguments", "must be a JSON object")
    return {"type": "function", "function": {"name": fn["name"], "arguments": json.dumps(parsed, ensure_ascii=False)}}


def _truncate(text: str, stop: str | list[str] | None) -> tuple[str, bool]:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def to_message(r: Reply, stop: str | list[str] | None, max_tokens: int) -> tuple[dict, str]:
    """The assistant message and finish_reason of a reply: its first complete tool call (the
    reply's own parse, replay.first_call) as `tool_calls`, the text before it as content."""
    text, stopped = _truncate(r.text, stop)
    if r.call is not None and CALL_OPEN in text:
        content = text[: text.find(CALL_OPEN)].strip() or None
        call = {
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {"name": r.call["name"], "arguments": json.dumps(r.call["arguments"], ensure_ascii=False)},
        }
        return {"role": "assistant", "content": content, "tool_calls": [call]}, "tool_calls"
    finish = "length" if not stopped and r.completion_tokens >= max_tokens else "stop"
    return {"role": "assistant", "content": text}, finish


def sampling_of(req: ChatRequest) -> dict:
    """Unset or zero temperature: greedy, as the eval replays; otherwise sampled."""
    if not req.temperature:
        return {}
    return {"do_sample": True, "temperature": req.temperature, **({"top_p": req.top_p} if req.top_p else {})}


def completion(engine: Engine, req: ChatRequest, default_max_tokens: int) -> dict:
    max_tokens = req.max_completion_tokens or req.max_tokens or default_max_tokens
    if req.model not in engine.names():  # before rendering: an unknown model is a 404, not a 400
        raise UnknownModel(req.model, engine.names())
    context = to_context(req.messages)
    r, version = engine.complete(req.model, context, max_tokens, sampling_of(req), req.seed)
    message, finish = to_message(r, req.stop, max_tokens)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": req.model,
        "system_fingerprint": version,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens,
            "total_tokens": r.prompt_tokens + r.completion_tokens,
        },
    }


def chunks(done: dict) -> list[dict]:
    """A finished completion as stream chunks: role and content, the tool call, the finish."""
    choice = done["choices"][0]
    message = choice["message"]
    head = {k: done[k] for k in ("id", "created", "model", "system_fingerprint")} | {"object": "chat.completion.chunk"}

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return head | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    out = [chunk({"role": "assistant", "content": message.get("content") or ""})]
    for i, call in enumerate(message.get("tool_calls") or []):
        out.append(chunk({"tool_calls": [{"index": i, **call}]}))
    out.append(chunk({}, choice["finish_reason"]))
    return out


def error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def create_app(engine: Engine, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> FastAPI:
    app = FastAPI(title="gastown serve", docs_url=None, redoc_url=None)

    @app.get("/v1/models")
    def models() -> dict:
        fleet = engine.fleet
        created = int(time.time())
        data = [
            {
                "id": name,
                "object": "model",
                "created": created,
                "owned_by": "gastown",
                **({"version": fleet.versions[name]} if name in fleet.versions else {}),
            }
            for name in fleet.names
        ]
        return {"object": "list", "data": data}

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "models": engine.names()}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        try:
            body = await request.json()
        except ValueError as exc:
            return JSONResponse(error_body(f"<body>: not JSON: {exc}", "invalid_request_error"), status_code=400)
        try:
            req = parse_request(body)
            done = await run_in_threadpool(completion, engine, req, default_max_tokens)
        except BadRequest as exc:
            return JSONResponse(error_body(str(exc), "invalid_request_error", exc.param), status_code=400)
        except UnknownModel as exc:
            return JSONResponse(
                error_body(str(exc), "invalid_request_error", "model", "model_not_found"), status_code=404
            )
        if not req.stream:
            return JSONResponse(done)

        def events():
            for c in chunks(done):
                yield f"data: {json.dumps(c, ensure_ascii=False)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app
