"""The scrubber: every secret kind is found and redacted, in plain and JSON-escaped text, and
ordinary transcript text is left alone.

No realistic-looking secret sits in this file: every fake value is assembled at import time from
a prefix and characters drawn from random.Random(0).
"""

import base64
import json
import random
import re
import string
from collections import Counter

import orjson
import pytest

from gastown_assets.datasets.secrets import GENERIC, PLUGIN_NAMES, REDACTED, Finding, Redactor, redact_row, scan_row
from gastown_assets.samples import PLANTED_SECRETS, SESSIONS_DIR

RNG = random.Random(0)
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
LOWER_DIGITS = string.ascii_lowercase + string.digits
B64URL = ALNUM + "-_"


def rand(n: int, alphabet: str = ALNUM) -> str:
    """Random characters with at least one digit and one letter, like a real key."""
    body = "".join(RNG.choice(alphabet) for _ in range(n - 2))
    return (
        body
        + RNG.choice([c for c in alphabet if c.isdigit()] or ["0"])
        + RNG.choice([c for c in alphabet if c.isalpha()] or ["a"])
    )


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def pem(label: str) -> str:
    lines = "\n".join(rand(64, ALNUM + "+/") for _ in range(4))
    return f"-----BEGIN {label}-----\n{lines}\n{rand(20, ALNUM + '+/')}==\n-----END {label}-----"


# kind -> fake secret. Each kind must come back as exactly this kind.
PROVIDER = {
    "anthropic_key": "sk-ant-" + "api03-" + rand(93, B64URL) + "AA",
    "openai_key": "sk-" + "proj-" + rand(120, B64URL),
    "github_token": "gh" + "p_" + rand(36),
    "aws_access_key_id": "AK" + "IA" + rand(16, UPPER_DIGITS),
    "slack_token": "xo" + "xb-" + rand(12, string.digits) + "-" + rand(13, string.digits) + "-" + rand(24),
    "huggingface_token": "h" + "f_" + rand(34),
    "jwt": b64url({"alg": "HS256", "typ": "JWT"})
    + "."
    + b64url({"sub": rand(10), "iat": 1700000000})
    + "."
    + rand(43, B64URL),
    "google_api_key": "AI" + "za" + rand(35, B64URL),
    "stripe_key": "sk" + "_live_" + rand(24),
    "npm_token": "np" + "m_" + rand(36),
}
# More shapes of the same kinds.
MORE = {
    "openai_key": ["sk-" + rand(48), "sk-" + "svcacct-" + rand(60, B64URL)],
    "github_token": ["gh" + "o_" + rand(36), "gh" + "s_" + rand(36), "github" + "_pat_" + rand(22) + "_" + rand(59)],
    "aws_access_key_id": ["AS" + "IA" + rand(16, UPPER_DIGITS)],
    "stripe_key": ["rk" + "_live_" + rand(24)],
    "slack_token": ["xo" + "xp-" + rand(11, string.digits) + "-" + rand(40, LOWER_DIGITS)],
}
AWS_SECRET = rand(40, ALNUM + "/+")
PRIVATE_KEYS = [pem("RSA PRIVATE KEY"), pem("OPENSSH PRIVATE KEY"), pem("PRIVATE KEY")]
PASSWORD = rand(16)
# detect-secrets plugins we rely on for kinds our own patterns do not cover.
PLUGIN_ONLY = {
    "twilio_key": "A" + "C" + rand(32, LOWER_DIGITS),
    "sendgrid_key": "S" + "G." + rand(22, B64URL) + "." + rand(43, B64URL),
    "square_oauth_secret": "sq0" + "csp-" + rand(43, B64URL),
    "mailchimp_key": rand(32, LOWER_DIGITS) + "-" + "us" + "12",
    "discord_bot_token": "M" + rand(23, B64URL) + "." + rand(6, B64URL) + "." + rand(27, B64URL),
    "azure_storage_key": "AccountKey=" + rand(86, ALNUM + "+/") + "==",
    "artifactory_token": "AKC" + rand(70),
    "pypi_token": "pypi-" + "AgEIcHlwaS5vcmc" + rand(70, B64URL),
    "gitlab_token": "gl" + "pat-" + rand(20, B64URL),
    "ibm_cloud_iam_key": "IBM_API_KEY=" + rand(44, B64URL),
    "ibm_cos_hmac_secret": "COS_SECRET_ACCESS_KEY=" + rand(48, "0123456789abcdef"),
    "softlayer_key": "SOFTLAYER_API_KEY=" + rand(64, LOWER_DIGITS),
    "cloudant_credential": "CLOUDANT_PASSWORD=" + rand(64, "0123456789abcdef"),
}


@pytest.fixture(scope="module")
def redactor():
    return Redactor()


def assert_redacted(redactor, text, secret, kind):
    out, counts = redactor.redact(text)
    assert secret not in out
    assert REDACTED.format(kind=kind) in out
    assert counts[kind] >= 1
    return out, counts


@pytest.mark.parametrize("kind", sorted(PROVIDER))
def test_each_provider_secret_is_redacted_as_its_kind(redactor, kind):
    for secret in [PROVIDER[kind], *MORE.get(kind, [])]:
        for text in (f"here it is: {secret} (keep it safe)", secret, f'"{secret}"', f"Bearer {secret}\nnext"):
            out, counts = redactor.redact(text)
            assert secret not in out
            assert counts == Counter({kind: 1}), (kind, counts)


def test_aws_secret_key_after_its_name_is_redacted(redactor):
    for text in (
        f"aws_secret_access_key = {AWS_SECRET}\n",
        f'AWS_SECRET_ACCESS_KEY="{AWS_SECRET}"',
        f'{{\\"aws_secret_access_key\\": \\"{AWS_SECRET}\\"}}',
    ):
        out, _counts = assert_redacted(redactor, text, AWS_SECRET, "aws_secret_key")
        assert "aws_secret_access_key".lower() in out.lower()


@pytest.mark.parametrize("kind", sorted(PLUGIN_ONLY))
def test_kinds_only_detect_secrets_knows_are_redacted(redactor, kind):
    secret = PLUGIN_ONLY[kind]
    out, counts = redactor.redact(f"config: {secret}\n")
    assert secret.removeprefix("AccountKey=") not in out
    assert kind in counts


def test_the_required_detect_secrets_plugins_are_used():
    required = {
        "AWSKeyDetector",
        "GitHubTokenDetector",
        "SlackDetector",
        "StripeDetector",
        "JwtTokenDetector",
        "PrivateKeyDetector",
        "BasicAuthDetector",
        "TwilioKeyDetector",
        "MailchimpDetector",
        "SendGridDetector",
        "SquareOAuthDetector",
        "DiscordBotTokenDetector",
        "ArtifactoryDetector",
        "IbmCloudIamDetector",
        "IbmCosHmacDetector",
        "AzureStorageKeyDetector",
        "NpmDetector",
        "OpenAIDetector",
    }
    assert required <= set(PLUGIN_NAMES)
    assert not {"Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector"} & set(PLUGIN_NAMES)


def test_secret_inside_escaped_json_is_redacted(redactor):
    key = PROVIDER["anthropic_key"]
    config = json.dumps({"env": "dev", "llm": {"provider": "anthropic", "api_key": key, "model": "m"}}, indent=2)
    arguments = orjson.dumps({"file_path": "/srv/app/config/local.json", "content": config}).decode()
    assert '\\"api_key\\": \\"sk-ant-' in arguments  # escaped twice in the JSONL file
    row = {
        "messages": [
            {
                "role": "assistant",
                "content": "writing the config",
                "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "Write", "arguments": arguments}}],
            }
        ]
    }
    counts = Counter()
    out = redact_row(row, redactor, counts)
    args = out["messages"][0]["tool_calls"][0]["function"]["arguments"]
    decoded = orjson.loads(args)
    assert key not in args and key not in json.dumps(out)
    assert json.loads(decoded["content"])["llm"]["api_key"] == REDACTED.format(kind="anthropic_key")
    assert decoded["file_path"] == "/srv/app/config/local.json"
    assert counts == Counter({"anthropic_key": 1})
    assert row["messages"][0]["tool_calls"][0]["function"]["arguments"] == arguments  # input untouched


def test_arguments_broken_by_redaction_are_redacted_decoded_and_reencoded():
    # A pattern that eats the backslash of an escaped quote breaks the JSON string it sits in.
    redactor = Redactor(extra_patterns={"internal_token": r'INTERNAL-[^"\s]+'})
    arguments = orjson.dumps({"command": 'deploy --token "INTERNAL-' + rand(20) + '"'}).decode()
    text, _ = redactor.redact(arguments)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)
    counts = Counter()
    out = redact_row({"function": {"arguments": arguments}}, redactor, counts)["function"]["arguments"]
    assert orjson.loads(out) == {"command": 'deploy --token "[REDACTED:internal_token]"'}
    assert counts == Counter({"internal_token": 1})


def test_url_password_is_redacted_keeping_user_and_host(redactor):
    for url in (
        f"postgres://app:{PASSWORD}@db.internal:5432/app",
        f"redis://:{PASSWORD}@cache:6379/0",
        f"https://deploy:{PASSWORD}@git.example.com/acme/repo.git",
    ):
        out, counts = redactor.redact(f"DATABASE_URL={url} and more")
        assert PASSWORD not in out
        assert counts == Counter({"url_password": 1})
        scheme, rest = url.split("://")
        user, host = rest.split(":" + PASSWORD + "@")
        assert f"{scheme}://{user}:[REDACTED:url_password]@{host} and more" in out
    plain = "see https://example.com:8443/path?q=1 and git@github.com:acme/repo.git and ${DB_URL}"
    assert redactor.redact(plain) == (plain, Counter())
    templated = "postgres://app:${DB_PASSWORD}@db:5432/app"
    assert redactor.redact(templated)[0] == templated


def test_private_key_block_is_redacted_whole(redactor):
    for block in PRIVATE_KEYS:
        body = block.splitlines()[1]
        text = f"$ cat id_rsa\n{block}\n$ ls"
        out, counts = redactor.redact(text)
        assert out == "$ cat id_rsa\n[REDACTED:private_key]\n$ ls"
        assert counts == Counter({"private_key": 1})
        escaped = json.dumps({"stdout": text})  # the same block with \n escapes
        out, _ = redactor.redact(escaped)
        assert body not in out and "END" not in out and "BEGIN" not in out
        cut = redactor.redact(block[: len(block) // 2])[0]  # a block whose END was clipped
        assert cut == "[REDACTED:private_key]"


@pytest.mark.parametrize(
    "template",
    [
        "DB_PASSWORD={v}",
        "export GITHUB_TOKEN={v}",
        "  export ANTHROPIC_API_KEY='{v}'",
        "api_key: {v}",
        "client_secret:   {v}  # prod",
        '{{"apiKey": "{v}", "region": "eu"}}',
        '{{"auth_token":"{v}"}}',
        "{{'password': '{v}'}}",
        '{{\\"db_password\\": \\"{v}\\"}}',
        '{{\\\\\\"secret\\\\\\": \\\\\\"{v}\\\\\\"}}',
        "curl -H 'Authorization: Bearer {v}' https://api.example.com",
        "mysql --password={v} -h db",
        "SERVICE_CREDENTIALS={v}",
        "passwd = {v}",
    ],
)
def test_assignment_values_are_redacted_in_every_form(redactor, template):
    value = rand(24)
    text = template.format(v=value)
    out, counts = redactor.redact(text)
    assert value not in out
    assert out == text.replace(value, REDACTED.format(kind=GENERIC))
    assert counts == Counter({GENERIC: 1})


def test_authorization_header_credentials_are_redacted_whatever_they_look_like(redactor):
    basic = base64.b64encode(b"deploy:" + rand(12).encode()).decode()
    for value in (basic, "dXNlcjpwYXNz", rand(40, B64URL), "local_dev_token_for_tests"):
        for text in (
            f"Authorization: Basic {value}",
            f'-H "Authorization: Bearer {value}"',
            f'{{"headers": {{"Authorization": "Token {value}"}}}}',
        ):
            out, counts = redactor.redact(text)
            assert value not in out, text
            assert counts == Counter({GENERIC: 1}), text


def test_passwords_that_read_like_names_or_start_with_equals_are_redacted(redactor):
    for text, value in (
        ('{"db_password": "BlueHorseStaple"}', "BlueHorseStaple"),
        ("DB_PASSWORD=BlueHorseStaple", "BlueHorseStaple"),
        ("API_KEY==" + (v := rand(20)), v),
    ):
        out, counts = redactor.redact(text)
        assert value not in out, text
        assert counts == Counter({GENERIC: 1})


def test_env_file_with_escaped_newlines_keeps_the_escapes(redactor):
    key, password = PROVIDER["anthropic_key"], rand(20)
    env = r"# local\nAPP_ENV=dev\nANTHROPIC_API_KEY=" + key + r"\nDB_PASSWORD=" + password + r"\nLOG_LEVEL=debug\n"
    out, counts = redactor.redact(env)
    assert out == (
        r"# local\nAPP_ENV=dev\nANTHROPIC_API_KEY=[REDACTED:anthropic_key]\nDB_PASSWORD="
        r"[REDACTED:generic_secret]\nLOG_LEVEL=debug\n"
    )
    assert counts == Counter({"anthropic_key": 1, GENERIC: 1})
    # A key alone on a line right after an escape is still found.
    assert redactor.redact(r"keys:\n" + key + r"\n")[0] == r"keys:\n[REDACTED:anthropic_key]\n"


@pytest.mark.parametrize(
    "text",
    [
        "ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY}",
        "export GITHUB_TOKEN=$GITHUB_TOKEN",
        "export TOKEN=$(gh auth token)",
        "password: <your-password>",
        '{"api_key": "***"}',
        "SECRET_KEY=xxx",
        "API_KEY=sk-ant-xxxxxxxx",
        "auth: true",
        "token: null",
        "api_key: None",
        "PASSWORD=short",
        'api_key = "[REDACTED:anthropic_key]"',
        'token: "{{ secrets.GH_TOKEN }}"',
        "api_key = os.environ['ANTHROPIC_API_KEY']",
        "client = Anthropic(api_key=settings.anthropic_key)",
        "token = get_token(session)",
        "const apiKey = process.env.API_KEY;",
        "SSH_KEY_PATH=~/.ssh/id_ed25519",
        "AUTH_URL=https://auth.example.com/login",
        "max_tokens: 100000",
    ],
)
def test_placeholders_references_and_code_are_not_redacted(redactor, text):
    assert redactor.redact(text) == (text, Counter())
    assert redactor.findings(text) == []


ORDINARY = """\
Fixed the flaky test in 3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c (merged as a1b2c3d).
Session 4c8f7ceb-b660-4508-85b0-b4c6f2d3dba0 lives in /home/gt/gt/web-app/polecats/ace/src/auth/token_store.py.

$ gt hook
wa-4k2x: Rotate the session tokens (P1)
$ bd close wa-4k2x --reason "done"
$ gt done

```python
def refresh(self, token: str) -> Token:
    key = self._cache_key(token)
    tokenizer = AutoTokenizer.from_pretrained("Qwen/Qwen2.5-7B-Instruct")
    headers = {"Authorization": f"Bearer {token}", "X-Request-Id": str(uuid.uuid4())}
    if self.keys[key].expired:
        return self.auth_service.renew(token, max_tokens=4096)
```
---
author: Sam Okafor <sam@example.com>
keywords: [auth, tokens, secrets]
| task-management-service-api | risk-assessment | sk-learn |
Base64 of a PNG starts with iVBORw0KGgo and git objects live in .git/objects/3f/2a1b4c.
"""


def test_ordinary_text_is_untouched(redactor):
    assert redactor.findings(ORDINARY) == []
    assert redactor.redact(ORDINARY) == (ORDINARY, Counter())
    escaped = json.dumps({"content": ORDINARY})
    assert redactor.redact(escaped) == (escaped, Counter())


CODE = """\
outputs = self.model(input_ids, past_key_values=past_key_values, use_cache=True)
ids = processor.batch_decode(generated, skip_special_tokens=True)[0]
paginator = {"input_token": "nextToken", "output_token": "NextToken", "limit_key": "MaxResults"}
attribute_map = {'credential_details': 'credentialDetails', 'kms_key_id': 'kmsKeyId'}
KEY_STATE_CREATING = "CREATING"
AUTH_FACTOR_BYPASSCODE = "BYPASSCODE"
token_type = "access_token"
self.credentials = credentials
key: mldsa.MLDSA44PrivateKey
for (const key of Object.keys(eventDataKeys)) { if (e[n].key===r) return e[n].value }
    :param password: database password.
    :param hide_password: Defaults to True.
KmsKeyARN: "arn:aws:kms:us-east-1:123456789012:key/abcd1234-12ab-34cd-56ef-123456123456"
"urn:ietf:params:oauth:token-type:saml2"
DATABASE_URL = "postgresql+psycopg2://user:pass@host/dbname"
s3 = f"s3://{access_key}:{secret_key}@bucket/path"
private_key: "-----BEGIN EC PRIVATE KEY-----\\n<key bytes>\\n-----END EC PRIVATE KEY-----\\n"
password: StringSource,
botocore = {"input_token": "Marker", "result_key": "findings", "more_results": "IsTruncated"}
columns = [{ key: 'completed', label: 'Completed' }, { key: 'archived', label: 'Archived' }]
    :param str password: (optional)
form_fields = {"password": "confirmPassword", "db_password": "adminPassword"}
schema = {"password_hash": "Optional[bytes]", "password_rules": "list[PolicyRule]"}
docs = {"api_key": "see section 4.2 of the guide"}
same_key=left_key1==right_key1
"""


def test_code_that_only_names_secrets_is_untouched(redactor):
    for line in CODE.splitlines():
        assert redactor.findings(line) == [], line
    assert redactor.redact(CODE) == (CODE, Counter())


@pytest.mark.parametrize("alphabet", [ALNUM, B64URL, "0123456789abcdef", ALNUM + "+/", ALNUM + "!@#%^*-_+.?~"])
def test_generated_values_under_secret_names_are_redacted(redactor, alphabet):
    names = ["API_KEY", "auth_token", "client_secret", "DB_PASSWORD", "apiKey", "X-Api-Key", "credentials"]
    forms = ["{n}={v}", '"{n}": "{v}"', "{n}: {v}", "export {n}='{v}'", '{{\\"{n}\\": \\"{v}\\"}}']
    for _i in range(60):
        value = rand(RNG.randint(12, 48), alphabet)
        text = RNG.choice(forms).format(n=RNG.choice(names), v=value)
        out, counts = redactor.redact(text)
        assert value not in out, text
        assert sum(counts.values()) == 1, text  # generic_secret, or a detect-secrets kind (44 chars: IBM)


def test_sample_sessions_hold_no_secrets_but_the_planted_ones(redactor):
    planted = [entry["value"] for entry in json.loads(PLANTED_SECRETS.read_text())]
    for path in sorted(SESSIONS_DIR.rglob("*.jsonl")):
        for line in path.read_text().splitlines():  # raw JSONL: every string JSON-escaped
            spans = [(m.start(), m.end()) for v in planted for m in re.finditer(re.escape(v), line)]
            for f in redactor.findings(line):
                assert any(s <= f.start < e for s, e in spans), f"{path.name}: {f.kind} at {f.start} is not planted"


def test_planted_sample_secrets_are_found_and_removed(redactor):
    entries = json.loads(PLANTED_SECRETS.read_text())
    assert entries
    for entry in entries:
        value = entry["value"]
        assert redactor.findings(value), entry["kind"]
        assert value not in redactor.redact(value)[0]
        text = (SESSIONS_DIR / entry["file"]).read_text()
        assert value in text
        out, counts = redactor.redact(text)
        assert value not in out and counts


def every_kind_text() -> str:
    parts = [f"{k}: {v}" for k, v in PROVIDER.items()]
    parts += [
        f"aws_secret_access_key={AWS_SECRET}",
        PRIVATE_KEYS[0],
        f"postgres://app:{PASSWORD}@db/app",
        f"DB_PASSWORD={rand(20)}",
        *PLUGIN_ONLY.values(),
    ]
    return "\n".join(parts)


def test_redaction_is_idempotent(redactor):
    # The token's redaction turns "password: x9... ghp_..." (prose-like) into an assignment.
    neighbours = f"password: {rand(12)} {PROVIDER['github_token']}"
    for text in (every_kind_text(), json.dumps({"content": every_kind_text()}), ORDINARY, neighbours):
        once, _counts = redactor.redact(text)
        twice, again = redactor.redact(once)
        assert twice == once
        assert again == Counter()
        assert redactor.findings(once) == []


def every_kind_row() -> dict:
    text = every_kind_text()
    arguments = orjson.dumps({"file_path": "/srv/.env", "content": text, "env": {"DB_PASSWORD": rand(18)}}).decode()
    return {
        "messages": [
            {"role": "system", "content": "You are a polecat."},
            {"role": "user", "content": text},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "Write", "arguments": arguments}}],
            },
            {"role": "tool", "tool_call_id": "t1", "content": json.dumps({"stdout": text})},
        ]
    }


def test_scan_row_finds_nothing_after_redact_row(redactor):
    row = every_kind_row()
    before = scan_row(row, redactor)
    assert set(before) >= set(PROVIDER) | {"aws_secret_key", "private_key", "url_password", GENERIC}
    counts = Counter()
    clean = redact_row(row, redactor, counts)
    assert scan_row(clean, redactor) == Counter()
    assert counts == before
    assert orjson.loads(clean["messages"][2]["tool_calls"][0]["function"]["arguments"])["file_path"] == "/srv/.env"
    assert clean["messages"][0] == row["messages"][0]


def test_scan_row_finds_a_planted_secret(redactor):
    clean = redact_row(every_kind_row(), redactor, Counter())
    clean["messages"][3]["content"] += " then " + PROVIDER["github_token"]
    assert scan_row(clean, redactor) == Counter({"github_token": 1})
    clean["messages"].append({"role": "user", "content": "ok", "metadata": {"api_key": rand(30)}})
    assert scan_row(clean, redactor)[GENERIC] == 1


def test_values_under_secret_named_keys_are_redacted_whole(redactor):
    token, password = rand(32), "correct-horse-battery-staple"
    row = {
        "messages": [
            {
                "role": "user",
                "content": "deploying",
                "metadata": {"api_key": token, "db_password": password, "key": "completed", "author": "Sam Okafor"},
            }
        ]
    }
    counts = Counter()
    out = redact_row(row, redactor, counts)
    assert out["messages"][0]["metadata"] == {
        "api_key": "[REDACTED:generic_secret]",
        "db_password": "[REDACTED:generic_secret]",
        "key": "completed",
        "author": "Sam Okafor",
    }
    assert counts == Counter({GENERIC: 2})
    assert scan_row(row, redactor) == Counter({GENERIC: 2})
    assert scan_row(out, redactor) == Counter()


def test_findings_and_counts_hold_kinds_and_offsets_only(redactor):
    text = every_kind_text()
    findings = redactor.findings(text)
    assert findings and all(type(f) is Finding for f in findings)
    assert all(set(vars(f)) == {"kind", "start", "end"} for f in findings)
    shown = repr(findings) + repr(redactor.redact(text)[1])
    for secret in [*PROVIDER.values(), AWS_SECRET, PASSWORD]:
        assert secret not in shown
    assert [text[f.start : f.end] for f in findings if f.kind == "github_token"] == [PROVIDER["github_token"]]


def test_plugin_findings_far_into_long_non_ascii_text_are_redacted(redactor):
    # A JWT whose payload is a JSON array: our pattern wants `.eyJ`, detect-secrets' JWT plugin finds it.
    token = b64url({"alg": "HS256"}) + "." + base64.urlsafe_b64encode(b"[1, 2, 3]").decode() + "." + rand(43, B64URL)
    text = "→ déjà vu ✓ " * 3000 + f"Authorization header was {token} yesterday" + " ✓" * 3000
    (finding,) = redactor.findings(text)
    assert (finding.kind, text[finding.start : finding.end]) == ("jwt", token)
    assert token not in redactor.redact(text)[0]


def test_extra_patterns_are_redacted():
    redactor = Redactor(extra_patterns={"internal_id": r"corp-id:(?P<secret>[0-9]{6,})"})
    out, counts = redactor.redact("user corp-id:12345678 logged in")
    assert out == "user corp-id:[REDACTED:internal_id] logged in"
    assert counts == Counter({"internal_id": 1})


def test_non_ascii_text_keeps_its_offsets(redactor):
    key = PROVIDER["github_token"]
    text = f"✓ déployé → token {key} 🚀 ok"
    (finding,) = redactor.findings(text)
    assert text[finding.start : finding.end] == key
    assert redactor.redact(text)[0] == "✓ déployé → token [REDACTED:github_token] 🚀 ok"


# --- a replacement covers the whole secret, for every detector --------------------------------

from tests.planted import RUN, catalogue  # noqa: E402

CATALOGUE = catalogue()


def leftover_runs(out: str, planted) -> list[str]:
    return sorted(r for r in planted.runs() if r in out)


def _positions(text: str) -> dict[str, str]:
    """The secret's text in the shapes a transcript holds it."""
    return {
        "prose": f"here it is: {text} (keep it safe)",
        "alone": text,
        "quoted": f'value="{text}"',
        "json_string": json.dumps({"stdout": text}),  # escaped once
        "json_in_json": json.dumps({"content": json.dumps({"env": text})}),  # escaped twice
        "line_of_env": f"APP_ENV=dev\n{text}\nLOG_LEVEL=debug",
    }


@pytest.mark.parametrize("planted", CATALOGUE, ids=[p.name for p in CATALOGUE])
def test_every_detector_removes_the_whole_secret(redactor, planted):
    for where, text in _positions(planted.text).items():
        out, counts = redactor.redact(text)
        assert not leftover_runs(out, planted), (where, out)
        assert planted.kind in counts, (where, counts)
        assert redactor.findings(out) == [], where


@pytest.mark.parametrize("planted", CATALOGUE, ids=[p.name for p in CATALOGUE])
def test_every_detector_removes_the_whole_secret_in_every_row_position(redactor, planted):
    text = f"step 3: {planted.text}\ndone"
    row = {
        "messages": [
            {"role": "user", "content": text},
            {
                "role": "assistant",
                "content": text,
                "tool_calls": [
                    {
                        "id": "t1",
                        "type": "function",
                        "function": {
                            "name": "Bash",
                            "arguments": orjson.dumps(
                                {"command": f"echo '{planted.text}' > .env", "env": {"NOTE": text}}
                            ).decode(),
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "t1", "content": [{"type": "text", "text": text}]},
            {"role": "tool", "tool_call_id": "t1", "content": json.dumps({"stdout": text, "code": 0})},
        ]
    }
    out = orjson.dumps(redact_row(row, redactor, Counter())).decode()
    assert not leftover_runs(out, planted)
    assert not leftover_runs(json.loads(json.dumps(out)), planted)


def test_gitlab_tokens_with_dashes_and_underscores_are_redacted_whole(redactor):
    # The reported leak: only the `glpat` prefix (the detector's group) was replaced.
    token = "gl" + "pat-" + "Ab3_d-Fg7h" + "-jK1_mN2pQ"
    for text in (f"export GITLAB_TOKEN={token}", f"token {token}.", json.dumps({"t": token}), f"[{token}]"):
        out, counts = redactor.redact(text)
        assert "Ab3_d" not in out and "mN2pQ" not in out and "-jK1" not in out, out
        assert counts.total() == 1
    assert redactor.redact(token) == ("[REDACTED:gitlab_token]", Counter({"gitlab_token": 1}))


def test_a_detector_match_that_stops_inside_a_token_is_extended_to_its_end():
    # An extra pattern that matches only the first characters still redacts the token whole.
    redactor = Redactor(extra_patterns={"corp_token": r"corp-[a-z]{4}"})
    out, _ = redactor.redact("use corp-abcd-EFGH_1234-ijkl now")
    assert out == "use [REDACTED:corp_token] now"
    assert RUN == 8
