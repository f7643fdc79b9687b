"""`gastown serve` as a user runs it: a subprocess on a free port, called with the official
`openai` client. Two role adapters (SmolLM2 + LoRA, each taught a different call) and the base
answer concurrently; unknown models, bad requests, the bind address and a new promotion."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import psutil
import pytest

from gastown_assets.config import Project
from gastown_assets.serving.manifest import build_manifest, write_manifest
from gastown_assets.storage import DataStore
from tests.serving.fleet import PROMPT, TARGETS, promote, teach
from tests.support import CONFIG_DIR, REPO, stop_group

STARTUP_S = 600  # loading SmolLM2 and two adapters on two busy cores
MAX_TOKENS = 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fleet(smollm2, tmp_path_factory):
    data = tmp_path_factory.mktemp("fleet")
    store = DataStore.open(str(data))
    for role, call in TARGETS.items():
        teach(smollm2.name_or_path, data / "adapters" / role / "v1", call)
        promote(store, role, "v1", smollm2.digest)
    write_manifest(store, build_manifest(store, Project(CONFIG_DIR, "local", Path("/data")), smollm2))
    return store, smollm2


@pytest.fixture(scope="module")
def server(fleet, tmp_path_factory):
    store, _ = fleet
    port = _free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {
        **os.environ,
        "GASTOWN_DATA_DIR": store.url,
        "GASTOWN_PROFILE": "local",
        "PYTHONPATH": str(REPO),
        "GASTOWN_CONFIG_DIR": str(CONFIG_DIR),
        "HF_HUB_OFFLINE": "1",
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gastown_assets", "serve", "--port", str(port), "--watch-s", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=REPO,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(proc, url, log_path)
        yield proc, url, log_path
    finally:
        stop_group(proc)


def _wait_ready(proc, url, log_path):
    import httpx

    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gastown serve exited {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"gastown serve not ready after {STARTUP_S} s:\n{log_path.read_text()[-4000:]}")


def _client(url):
    return openai.OpenAI(base_url=url, api_key="not-checked", timeout=900, max_retries=0)


def _ask(url, model, messages=PROMPT, **kw):
    return _client(url).chat.completions.create(model=model, messages=messages, max_tokens=MAX_TOKENS, **kw)


def _call(reply) -> dict | None:
    calls = reply.choices[0].message.tool_calls
    if not calls:
        return None
    return {"name": calls[0].function.name, "arguments": json.loads(calls[0].function.arguments)}


def test_two_roles_and_the_base_answer_concurrently_each_with_its_own_adapter(server):
    _, url, _ = server
    with ThreadPoolExecutor(3) as pool:
        futures = {m: pool.submit(_ask, url, m) for m in ("polecat", "crew", "base")}
        replies = {m: f.result() for m, f in futures.items()}
    for role in ("polecat", "crew"):
        choice = replies[role].choices[0]
        assert _call(replies[role]) == TARGETS[role], choice.message
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        assert replies[role].choices[0].message.tool_calls[0].type == "function"
        assert replies[role].system_fingerprint == f"{role}-v1"
    assert _call(replies["base"]) not in (TARGETS["polecat"], TARGETS["crew"])
    assert replies["base"].choices[0].message.content, "the base (never taught the call) answers in prose"
    assert replies["base"].system_fingerprint.startswith("base-")
    assert replies["base"].usage.prompt_tokens == replies["polecat"].usage.prompt_tokens  # same template


def test_models_lists_the_base_and_every_served_role(server):
    _, url, _ = server
    assert [m.id for m in _client(url).models.list().data] == ["base", "crew", "polecat"]


def test_an_unknown_model_is_a_404_naming_the_models_served(server):
    _, url, _ = server
    with pytest.raises(openai.NotFoundError) as err:
        _ask(url, "mayor")
    assert err.value.status_code == 404
    assert "model 'mayor' is not served here; served models: base, crew, polecat" in str(err.value)


@pytest.mark.parametrize(
    "messages, param",
    [
        ([], "messages"),
        ([{"role": "robot", "content": "hi"}], "messages[0].role"),
        (
            [
                *PROMPT,
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "Bash", "arguments": "{not json"}}
                    ],
                },
            ],
            "messages[1].tool_calls[0].function.arguments",
        ),
    ],
)
def test_a_malformed_request_is_a_400_naming_the_field(server, messages, param):
    _, url, _ = server
    with pytest.raises(openai.BadRequestError) as err:
        _ask(url, "polecat", messages=messages)
    assert err.value.status_code == 400
    assert err.value.body["param"] == param and err.value.body["message"].startswith(f"{param}: ")


def test_a_body_that_is_not_json_is_a_400(server):
    import httpx

    _, url, _ = server
    r = httpx.post(f"{url}/chat/completions", content=b"{oops", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("<body>: not JSON")


def test_prior_tool_calls_and_results_are_rendered_with_the_training_template(server, fleet):
    """A harness sends the call it ran (arguments as a JSON string) and its result; the prompt is
    the training template's rendering of the whole conversation."""
    from transformers import AutoTokenizer

    from gastown_assets.datasets.tokens import as_trained

    _, url, _ = server
    _, base = fleet
    history = [
        *PROMPT,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "gt hook"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "gt-42: fix the flaky test"},
    ]
    reply = _ask(
        url,
        "polecat",
        messages=history,
        tools=[{"type": "function", "function": {"name": "Bash", "parameters": {"type": "object"}}}],
    )
    tokenizer = AutoTokenizer.from_pretrained(base.name_or_path)
    rows = [
        PROMPT[0],
        {
            "role": "assistant",
            "tool_calls": [{"type": "function", "function": {"name": "Bash", "arguments": '{"command": "gt hook"}'}}],
        },
        {"role": "tool", "content": "gt-42: fix the flaky test"},
    ]
    expected = tokenizer.apply_chat_template(as_trained(rows), add_generation_prompt=True, return_dict=True)
    assert reply.usage.prompt_tokens == len(expected["input_ids"])


def test_a_streamed_reply_carries_the_tool_call(server):
    _, url, _ = server
    stream = _client(url).chat.completions.create(model="polecat", messages=PROMPT, max_tokens=MAX_TOKENS, stream=True)
    chunks = list(stream)
    calls = [c for ch in chunks for c in (ch.choices[0].delta.tool_calls or [])]
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("Bash", TARGETS["polecat"]["arguments"])
    ]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_the_server_binds_127_0_0_1_only(server):
    proc, url, _ = server
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    listening = {
        c.laddr.ip
        for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        for c in p.net_connections("inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    }
    assert listening == {"127.0.0.1"}


def test_a_new_promotion_is_served_without_a_restart(server, fleet):
    """crew's next version (here: polecat's weights under a new version) is promoted and the
    manifest rebuilt, as served_adapters does after promoted_adapter; the running server
    switches to it (last test: it changes the fleet)."""
    proc, url, _ = server
    store, base = fleet
    shutil.copytree(store.local / "adapters/polecat/v1", store.local / "adapters/crew/v2")
    promote(store, "crew", "v2", base.digest, loss=1.0)
    write_manifest(store, build_manifest(store, Project(CONFIG_DIR, "local", Path("/data")), base))
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        models = _client(url).models.list().model_dump()["data"]
        if {m["id"]: m.get("version") for m in models}.get("crew") == "v2":
            break
        time.sleep(1)
    else:
        raise AssertionError("the new crew version was not picked up")
    reply = _ask(url, "crew")
    assert reply.system_fingerprint == "crew-v2" and _call(reply) == TARGETS["polecat"]
    assert proc.poll() is None
