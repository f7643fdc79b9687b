"""Fake secrets of every format the scrubber knows, for tests that plant them and look for them.

No realistic-looking secret sits in this file: every value is assembled at import time from a
format's public prefix and characters drawn from random.Random(13). Each `Planted` has the text
as it is written into a transcript and the part of it that is the secret (what must never reach
a file we write: not whole, not escaped, not as any run of `RUN` characters).
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

RNG = random.Random(13)
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
LOWER_DIGITS = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
RUN = 8  # no run of this many characters of a secret may survive


def rand(n: int, alphabet: str = ALNUM) -> str:
    """Random characters with at least one digit and one letter where the alphabet has them."""
    body = "".join(RNG.choice(alphabet) for _ in range(n - 2))
    digits = [c for c in alphabet if c.isdigit()] or [alphabet[0]]
    letters = [c for c in alphabet if c.isalpha()] or [alphabet[-1]]
    return body + RNG.choice(digits) + RNG.choice(letters)


def dashed(n: int) -> str:
    """A token body with `-` and `_` inside it (GitLab's, base64url's alphabet)."""
    body = list(rand(n, ALNUM))
    for i in RNG.sample(range(2, n - 2), 4):
        body[i] = RNG.choice("-_")
    return "".join(body)


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def pem(label: str) -> str:
    lines = "\n".join(rand(64, B64) for _ in range(5))
    return f"-----BEGIN {label}-----\n{lines}\n{rand(20, B64)}==\n-----END {label}-----"


@dataclass(frozen=True)
class Planted:
    name: str  # a label for test ids and the closing note
    kind: str  # the kind the scrubber reports
    text: str  # as written in a transcript
    secret: str  # the part of `text` that must vanish

    def runs(self, n: int = RUN) -> set[str]:
        """Every run of n characters of the secret (its lines, for a multi-line key)."""
        out = set()
        for line in self.secret.splitlines():
            out.update(line[i : i + n] for i in range(len(line) - n + 1))
        return out


def _token(name: str, kind: str, value: str) -> Planted:
    return Planted(name, kind, value, value)


def _value(name: str, kind: str, template: str, value: str) -> Planted:
    return Planted(name, kind, template.format(v=value), value)


def catalogue() -> list[Planted]:
    """One fake of each format; the same values on every call (a fresh RNG)."""
    global RNG
    RNG = random.Random(13)
    jwt = (
        b64url({"alg": "HS256", "typ": "JWT"})
        + "."
        + b64url({"sub": rand(10), "iat": 1700000000})
        + "."
        + rand(43, B64URL)
    )
    return [
        # provider keys (our own patterns)
        _token("anthropic", "anthropic_key", "sk-ant-" + "api03-" + rand(93, B64URL) + "AA"),
        _token("openai_project", "openai_key", "sk-" + "proj-" + rand(120, B64URL)),
        _token("openai_legacy", "openai_key", "sk-" + rand(48)),
        _token("github_classic", "github_token", "gh" + "p_" + rand(36)),
        _token("github_fine_grained", "github_token", "github" + "_pat_" + rand(22) + "_" + rand(59)),
        _token("huggingface", "huggingface_token", "h" + "f_" + rand(34)),
        _token(
            "slack_bot",
            "slack_token",
            "xo" + "xb-" + rand(12, string.digits) + "-" + rand(13, string.digits) + "-" + rand(24),
        ),
        _token("google_api", "google_api_key", "AI" + "za" + rand(35, B64URL)),
        _token("stripe_live", "stripe_key", "sk" + "_live_" + rand(24)),
        _token("npm", "npm_token", "np" + "m_" + rand(36)),
        _token("jwt", "jwt", jwt),
        # cloud keys
        _token("aws_key_id", "aws_access_key_id", "AK" + "IA" + rand(16, UPPER_DIGITS)),
        _value("aws_secret", "aws_secret_key", "aws_secret_access_key = {v}", rand(40, B64)),
        _value(
            "azure_storage",
            "azure_storage_key",
            "DefaultEndpointsProtocol=https;AccountName=gtstore;AccountKey={v};EndpointSuffix=core.windows.net",
            rand(86, B64) + "==",
        ),
        _value("ibm_cloud_iam", "ibm_cloud_iam_key", "IBM_API_KEY={v}", rand(44, B64URL)),
        _value("ibm_cos_hmac", "ibm_cos_hmac_secret", "COS_SECRET_ACCESS_KEY={v}", rand(48, HEX)),
        _value("softlayer", "softlayer_key", "SOFTLAYER_API_KEY={v}", rand(64, LOWER_DIGITS)),
        _value("cloudant", "cloudant_credential", "CLOUDANT_PASSWORD={v}", rand(64, HEX)),
        # tokens (detect-secrets' plugins); GitLab's bodies hold `-` and `_`
        _token("gitlab_pat", "gitlab_token", "gl" + "pat-" + dashed(20)),
        _token("gitlab_deploy", "gitlab_token", "gl" + "dt-" + dashed(24)),
        _token("gitlab_runner", "gitlab_token", "gl" + "rt-" + dashed(20)),
        _token("gitlab_ci_partition", "gitlab_token", "gl" + "cbt-" + "2f_" + dashed(20)),
        _token("gitlab_trigger", "gitlab_token", "gl" + "ptt-" + dashed(40)),
        _token("gitlab_oauth_app", "gitlab_token", "gl" + "oas-" + dashed(64)),
        _token("twilio_account", "twilio_key", "A" + "C" + rand(32, LOWER_DIGITS)),
        _token("sendgrid", "sendgrid_key", "S" + "G." + rand(22, B64URL) + "." + rand(43, B64URL)),
        _token("square_oauth", "square_oauth_secret", "sq0" + "csp-" + rand(43, B64URL)),
        _token("mailchimp", "mailchimp_key", rand(32, LOWER_DIGITS) + "-" + "us" + "12"),
        _token(
            "discord_bot", "discord_bot_token", "M" + rand(23, B64URL) + "." + rand(6, B64URL) + "." + rand(27, B64URL)
        ),
        _token("artifactory", "artifactory_token", "AKC" + rand(70)),
        _token("pypi", "pypi_token", "pypi-" + "AgEIcHlwaS5vcmc" + rand(70, B64URL)),
        _token("telegram_bot", "telegram_bot_token", rand(9, string.digits) + ":AA" + rand(33, B64URL)),
        # private keys
        _token("rsa_private_key", "private_key", pem("RSA PRIVATE KEY")),
        _token("openssh_private_key", "private_key", pem("OPENSSH PRIVATE KEY")),
        # connection strings and passwords in URLs
        _value("postgres_url", "url_password", "postgres://app:{v}@db.internal:5432/app", rand(20)),
        _value("mongodb_url", "url_password", "mongodb+srv://svc:{v}@cluster0.example.net/app", rand(18)),
        _value("redis_url", "url_password", "redis://:{v}@cache:6379/0", rand(16)),
        _value("git_https_url", "url_password", "https://deploy:{v}@git.example.com/acme/repo.git", rand(22)),
        _value(
            "sqlserver_conn",
            "generic_secret",
            "Server=tcp:db.example.net,1433;Database=app;User ID=app;Password={v};Encrypt=true",
            rand(20),
        ),
        # env lines and assignments
        _value("env_db_password", "generic_secret", "DB_PASSWORD={v}", rand(24)),
        _value("env_export_token", "generic_secret", "export SERVICE_TOKEN='{v}'", rand(32, B64URL)),
        _value("json_client_secret", "generic_secret", '{{"client_secret": "{v}"}}', rand(28)),
        _value(
            "bearer_header",
            "generic_secret",
            "curl -H 'Authorization: Bearer {v}' https://api.example.com",
            rand(40, B64URL),
        ),
    ]


def found_in(data: bytes, planted: list[Planted]) -> list[str]:
    """Names of the planted secrets present in `data`: whole, JSON-escaped (once or twice) or as
    any run of RUN characters of their secret part."""
    hits = []
    for p in planted:
        forms = {p.secret, json.dumps(p.secret)[1:-1], json.dumps(json.dumps(p.secret))[1:-1]}
        if any(f.encode() in data for f in forms) or any(r.encode() in data for r in p.runs()):
            hits.append(p.name)
    return hits


# --- Claude Code transcripts holding planted secrets in every position ------------------------

POSITIONS = (
    "user_text",
    "user_text_block",
    "assistant_text",
    "thinking",
    "tool_input",
    "tool_input_named_value",
    "tool_input_bare_value",
    "tool_result_string",
    "tool_result_list",
    "tool_result_escaped_json",
    "compact_summary",
    "inline_sidechain",
    "subagent_file",
)


class _Writer:
    """Records of one session file, chained by uuid the way Claude Code writes them."""

    def __init__(self, sid: str, cwd: str, sidechain: bool = False, agent: str = ""):
        self.sid, self.cwd, self.sidechain, self.agent = sid, cwd, sidechain, agent
        self.lines: list[dict] = []
        self.parent: str | None = None
        self.n = 0

    def _id(self) -> str:
        self.n += 1
        return f"{self.sid[:8]}-{self.agent or 'main'}-{self.n:04d}"

    def _record(self, kind: str, message: dict, **extra) -> None:
        uuid = self._id()
        rec = {
            "parentUuid": self.parent,
            "isSidechain": self.sidechain,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.sid,
            "version": "2.1.37",
            "type": kind,
            "message": message,
            "timestamp": f"2026-02-01T10:{self.n // 60:02d}:{self.n % 60:02d}.000Z",
            "uuid": uuid,
            **extra,
        }
        if self.agent:
            rec["agentId"] = self.agent
        self.lines.append(rec)
        self.parent = uuid

    def user(self, content, **extra) -> None:
        self._record("user", {"role": "user", "content": content}, **extra)

    def assistant(self, *blocks: dict) -> None:
        mid = f"msg_{self._id()}"
        for block in blocks:  # one line per block, sharing the message id
            self._record(
                "assistant",
                {
                    "model": "claude-sonnet-4-5-20250929",
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "content": [block],
                },
                requestId=f"req_{mid}",
            )

    def tool(self, name: str, tool_input: dict, result) -> None:
        tid = f"toolu_{self._id()}"
        self.assistant({"type": "tool_use", "id": tid, "name": name, "input": tool_input})
        self.user([{"tool_use_id": tid, "type": "tool_result", "content": result}])

    def data(self) -> bytes:
        return b"".join(json.dumps(r).encode() + b"\n" for r in self.lines)


def planted_session(sid: str, cwd: str, secrets: list[Planted]) -> tuple[bytes, dict[str, bytes]]:
    """A main session file and its subagent files (name -> bytes), every secret in every
    position of POSITIONS; the assistant also does ordinary work so rows survive the filters."""
    main = _Writer(sid, cwd)
    main.user("You have work on your hook. Run `gt hook` and execute it.")
    main.assistant({"type": "text", "text": "Checking the hook before anything else."})
    main.tool(
        "Bash",
        {"command": "gt hook", "description": "Check hooked work"},
        "Hooked: gt-42 rotate the service credentials (P1)",
    )
    subagents: dict[str, bytes] = {}
    for i, s in enumerate(secrets):
        main.user(f"The {s.name} credential leaked in chat, here it is so you can rotate it: {s.text}")
        main.user([{"type": "text", "text": f"Also in the ticket body:\n{s.text}\nplease handle it."}])
        main.assistant(
            {
                "type": "thinking",
                "thinking": f"The value is {s.text}; I must rotate it, not repeat it.",
                "signature": "c2ln",
            },
            {
                "type": "text",
                "text": f"Rotating the {s.name} credential now; the old one was {s.text} "
                f"and it goes into the vault, then I run the tests.",
            },
        )
        main.tool(
            "Bash",
            {
                "command": f"printf '%s' '{s.text}' | vault kv put secret/{s.name} value=-",
                "description": f"Store the {s.name} credential",
            },
            f"Success! Data written to: secret/{s.name}\nvalue: {s.text}",
        )
        main.tool(
            "Write",
            {
                "file_path": f"/srv/app/{s.name}.env",
                "content": f"APP_ENV=prod\n{s.text}\n",
                "env": {"SERVICE_PASSWORD": s.secret, "SERVICE_NAME": s.name},
            },
            [{"type": "text", "text": f"File created successfully at /srv/app/{s.name}.env:\n{s.text}"}],
        )
        main.tool(
            "Read",
            {"file_path": f"/srv/app/{s.name}.json"},
            json.dumps(
                {"stdout": json.dumps({"name": s.name, "credential": s.text, "rotated": False}), "exit_code": 0}
            ),
        )
        if i == 0:  # compaction: the summary carries everything, secrets included
            main.user(
                f"This session is being continued from a previous conversation. Summary: the "
                f"{s.name} credential {s.text} was rotated.",
                isCompactSummary=True,
            )
        side = _Writer(sid, cwd, sidechain=True)  # an inline (1.0.x) sidechain
        side.parent = main.parent
        side.user(f"Find where {s.text} is used.")
        side.assistant({"type": "text", "text": f"It is used in deploy.sh: {s.text}"})
        main.lines += side.lines
        agent = _Writer(sid, cwd, agent=f"a{i:03d}{sid[:4]}")
        agent.user(f"Search the repo for the {s.name} credential {s.text} and report every file.")
        agent.assistant({"type": "text", "text": f"Searching for {s.text}."})
        agent.tool("Grep", {"pattern": s.secret, "path": "/srv/app"}, f"/srv/app/{s.name}.env:2:{s.text}")
        agent.assistant({"type": "text", "text": f"Found it in one file: {s.name}.env holds {s.text}."})
        subagents[f"agent-{agent.agent}.jsonl"] = agent.data()
        main.assistant({"type": "text", "text": f"Rotated {s.name} and ran the tests: all green. Closing."})
    main.tool(
        "Bash",
        {"command": "bd close gt-42 && gt done", "description": "Close the bead and finish"},
        "Closed gt-42\nWork submitted to the merge queue.",
    )
    main.assistant({"type": "text", "text": "Done: credentials rotated, bead closed, work submitted with gt done."})
    return main.data(), subagents


def write_planted_corpus(root, cwds: dict[str, str], secrets: list[Planted], per_session: int = 6):
    """Under `root`, for each role's cwd, sessions that together hold every secret in every
    position (each session `per_session` of them). Returns the session ids by role."""
    from pathlib import Path

    root = Path(root)
    ids: dict[str, list[str]] = {}
    for r, (role, cwd) in enumerate(sorted(cwds.items())):
        folder = root / ("-" + cwd.strip("/").replace("/", "-"))
        for k in range(0, len(secrets), per_session):
            sid = f"{r:02d}{k:02d}c0de-7e57-4a11-8000-0000000000{r:01d}{k // per_session:01d}"
            main, subagents = planted_session(sid, cwd, secrets[k : k + per_session])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{sid}.jsonl").write_bytes(main)
            for name, data in subagents.items():
                (folder / sid / "subagents").mkdir(parents=True, exist_ok=True)
                (folder / sid / "subagents" / name).write_bytes(data)
            ids.setdefault(role, []).append(sid)
    return ids
