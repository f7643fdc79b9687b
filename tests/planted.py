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
            out.update(line[i:i + n] for i in range(len(line) - n + 1))
        return out


def _token(name: str, kind: str, value: str) -> Planted:
    return Planted(name, kind, value, value)


def _value(name: str, kind: str, template: str, value: str) -> Planted:
    return Planted(name, kind, template.format(v=value), value)


def catalogue() -> list[Planted]:
    """One fake of each format; the same values on every call (a fresh RNG)."""
    global RNG
    RNG = random.Random(13)
    jwt = (b64url({"alg": "HS256", "typ": "JWT"}) + "." + b64url({"sub": rand(10), "iat": 1700000000})
           + "." + rand(43, B64URL))
    return [
        # provider keys (our own patterns)
        _token("anthropic", "anthropic_key", "sk-ant-" + "api03-" + rand(93, B64URL) + "AA"),
        _token("openai_project", "openai_key", "sk-" + "proj-" + rand(120, B64URL)),
        _token("openai_legacy", "openai_key", "sk-" + rand(48)),
        _token("github_classic", "github_token", "gh" + "p_" + rand(36)),
        _token("github_fine_grained", "github_token", "github" + "_pat_" + rand(22) + "_" + rand(59)),
        _token("huggingface", "huggingface_token", "h" + "f_" + rand(34)),
        _token("slack_bot", "slack_token", "xo" + "xb-" + rand(12, string.digits) + "-" + rand(13, string.digits)
               + "-" + rand(24)),
        _token("google_api", "google_api_key", "AI" + "za" + rand(35, B64URL)),
        _token("stripe_live", "stripe_key", "sk" + "_live_" + rand(24)),
        _token("npm", "npm_token", "np" + "m_" + rand(36)),
        _token("jwt", "jwt", jwt),
        # cloud keys
        _token("aws_key_id", "aws_access_key_id", "AK" + "IA" + rand(16, UPPER_DIGITS)),
        _value("aws_secret", "aws_secret_key", "aws_secret_access_key = {v}", rand(40, B64)),
        _value("azure_storage", "azure_storage_key",
               "DefaultEndpointsProtocol=https;AccountName=gtstore;AccountKey={v};EndpointSuffix=core.windows.net",
               rand(86, B64) + "=="),
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
        _token("discord_bot", "discord_bot_token", "M" + rand(23, B64URL) + "." + rand(6, B64URL) + "."
               + rand(27, B64URL)),
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
        _value("sqlserver_conn", "generic_secret",
               "Server=tcp:db.example.net,1433;Database=app;User ID=app;Password={v};Encrypt=true", rand(20)),
        # env lines and assignments
        _value("env_db_password", "generic_secret", "DB_PASSWORD={v}", rand(24)),
        _value("env_export_token", "generic_secret", "export SERVICE_TOKEN='{v}'", rand(32, B64URL)),
        _value("json_client_secret", "generic_secret", '{{"client_secret": "{v}"}}', rand(28)),
        _value("bearer_header", "generic_secret", "curl -H 'Authorization: Bearer {v}' https://api.example.com",
               rand(40, B64URL)),
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
