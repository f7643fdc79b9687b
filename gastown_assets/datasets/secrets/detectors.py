"""detect-secrets' regex plugins: which ones, loaded lazily when a hint first fires; the hints
that fired (`_Fired`) and the windows around them; the plugins' spans on a text."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .patterns import Span
from .plausibility import _DIGIT, _REFERENCE, _URL_PLACEHOLDER

# --------------------------------------------------------------------------------------------
# Hints that fired, and the windows a plugin's denylist runs in
# --------------------------------------------------------------------------------------------

# A plugin's denylist runs in windows around its hints' positions, so that its few unbounded,
# backtracking regexes (JWT, npm, OpenAI) stay linear on long texts: a match starts at most 512
# characters before its hint and ends within 16 KiB after it.
_WINDOW_BEFORE, _WINDOW_AFTER = 512, 16384


_NEAR = 1024  # a hint this close after a recorded one is covered by its window (made this much longer)


class _Fired(dict):
    """Plugin name -> positions where its hints fired."""

    def wants(self, plugin: str, pos: int) -> bool:
        seen = self.get(plugin)
        return seen is None or not 0 <= pos - seen[-1] <= _NEAR

    def add(self, plugin: str, pos: int) -> None:
        if self.wants(plugin, pos):
            self.setdefault(plugin, []).append(pos)


def _windows(positions: list[int], size: int) -> list[tuple[int, int]]:
    """Merged [p - before, p + after] ranges around the hints' positions."""
    merged: list[tuple[int, int]] = []
    for p in sorted(positions):
        lo, hi = max(0, p - _WINDOW_BEFORE), min(size, p + _WINDOW_AFTER + _NEAR)
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


# --------------------------------------------------------------------------------------------
# detect-secrets plugins
# --------------------------------------------------------------------------------------------

# (module, class, our kind for its findings, value must hold a digit, where the secret is). The
# digit rule is for the assignment-style plugins, whose 44/48/64-character values otherwise match
# test names (`PASS: TestLogging_ContextSessionID_WhenNoGlobalSet` is an IBM key to them).
# Where the secret is: WHOLE, the whole match (a token: its regex's groups are parts of it, such
# as GitLab's `(glpat|gldt|...)-` prefix, so redacting a group would leave the token's body); or
# VALUE, the first group that matched: the value after a name or inside a URL
# (`aws_secret_access_key = "<value>"`, `://user:<password>@`, `:_authToken=<token>`).
WHOLE, VALUE = "whole", "value"
_PLUGIN_SPECS: tuple[tuple[str, str, str, bool, str], ...] = (
    ("aws", "AWSKeyDetector", "aws_access_key_id", False, VALUE),  # its key-id regex has no group
    ("artifactory", "ArtifactoryDetector", "artifactory_token", False, WHOLE),
    ("azure_storage_key", "AzureStorageKeyDetector", "azure_storage_key", False, WHOLE),
    ("basic_auth", "BasicAuthDetector", "url_password", False, VALUE),
    ("cloudant", "CloudantDetector", "cloudant_credential", False, VALUE),
    ("discord", "DiscordBotTokenDetector", "discord_bot_token", False, WHOLE),
    ("github_token", "GitHubTokenDetector", "github_token", False, WHOLE),
    ("gitlab_token", "GitLabTokenDetector", "gitlab_token", False, WHOLE),
    ("ibm_cloud_iam", "IbmCloudIamDetector", "ibm_cloud_iam_key", True, VALUE),
    ("ibm_cos_hmac", "IbmCosHmacDetector", "ibm_cos_hmac_secret", True, VALUE),
    ("jwt", "JwtTokenDetector", "jwt", False, WHOLE),
    ("mailchimp", "MailchimpDetector", "mailchimp_key", False, WHOLE),
    ("npm", "NpmDetector", "npm_token", False, VALUE),
    ("openai", "OpenAIDetector", "openai_key", False, WHOLE),
    ("private_key", "PrivateKeyDetector", "private_key", False, WHOLE),
    ("pypi_token", "PypiTokenDetector", "pypi_token", False, WHOLE),
    ("sendgrid", "SendGridDetector", "sendgrid_key", False, WHOLE),
    ("slack", "SlackDetector", "slack_token", False, WHOLE),
    ("softlayer", "SoftlayerDetector", "softlayer_key", True, VALUE),
    ("square_oauth", "SquareOAuthDetector", "square_oauth_secret", False, WHOLE),
    ("stripe", "StripeDetector", "stripe_key", False, WHOLE),
    ("telegram_token", "TelegramBotTokenDetector", "telegram_bot_token", False, WHOLE),
    ("twilio", "TwilioKeyDetector", "twilio_key", False, WHOLE),
)


@dataclass(frozen=True)
class _Plugin:
    name: str
    kind: str
    denylist: tuple[re.Pattern[str], ...]
    needs_digit: bool
    valid: Callable[[str], bool] | None  # the plugin's own filter (JWT's is_formally_valid)
    value_group: bool  # the secret is the first group that matched, not the whole match


def _load_plugins() -> dict[str, _Plugin]:
    plugins = {}
    for module, cls_name, kind, needs_digit, where in _PLUGIN_SPECS:
        try:
            cls = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), cls_name)
        except (ImportError, AttributeError):  # not shipped by this detect-secrets version
            continue
        plugins[cls_name] = _Plugin(
            cls_name, kind, tuple(cls.denylist), needs_digit, getattr(cls, "is_formally_valid", None), where == VALUE
        )
    return plugins


_PLUGIN_CLASSES = frozenset(spec[1] for spec in _PLUGIN_SPECS)
_PLUGINS: dict[str, _Plugin] = {}  # loaded when a hint first fires: importing detect-secrets takes ~0.3 s


def _plugins() -> dict[str, _Plugin]:
    if not _PLUGINS:
        _PLUGINS.update(_load_plugins())
    return _PLUGINS


# --------------------------------------------------------------------------------------------
# A plugin's spans on a text (character offsets)
# --------------------------------------------------------------------------------------------

_PLUGIN_TAIL = re.compile(r"[A-Za-z0-9_\-.+/=]*")  # JWT: the plugin's match stops before the signature
_KEY_BODY = re.compile(r"(?:\\[nr]|[A-Za-z0-9+/=\s:,._\-])*")
_KEY_END = re.compile(r"-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|---- END SSH2[^-]*----")
_NPM_VALUE = re.compile(r"[A-Za-z0-9_\-]+")
_KEY_BASE64 = re.compile(r"[A-Za-z0-9+/]{32}")  # a key's body, not a template's "<key bytes>"
_KEY_BASE64_BYTES = re.compile(_KEY_BASE64.pattern.encode())
_EDGE = " \t\r\n\"'=:"


_ESCAPE = re.compile(r"\\[nrt]")
# Delimiters detect-secrets' token regexes do not expect around a token (Artifactory's wants
# whitespace, `=`, `:` or a double quote): quotes become `"`, brackets and separators a space.
# No plugin's regex needs them as they are: its quotes are either kind, its brackets optional.
_DELIMITERS = str.maketrans(
    {
        "'": '"',
        "`": '"',
        "(": " ",
        ")": " ",
        "[": " ",
        "]": " ",
        "{": " ",
        "}": " ",
        "<": " ",
        ">": " ",
        ",": " ",
        ";": " ",
        "|": " ",
    }
)


def _plugin_view(text: str) -> str:
    """The text as detect-secrets' regexes expect it, at the same offsets. They know neither
    escapes nor JSON inside JSON (`\\"AKC...\\"`): an escape such as `\\n` becomes two spaces
    and any other backslash one; and delimiters become ones they expect (see _DELIMITERS)."""
    if "\\" in text:
        text = _ESCAPE.sub("  ", text).replace("\\", " ")
    return text.translate(_DELIMITERS)


def _plugin_spans(plugin: _Plugin, text: str, lo: int, hi: int) -> Iterable[Span]:
    """The plugin's denylist on text[lo:hi] (a str: character offsets)."""
    for index, regex in enumerate(plugin.denylist):
        kind = "aws_secret_key" if plugin.name == "AWSKeyDetector" and index == 1 else plugin.kind
        covered = -1
        for m in regex.finditer(text, lo, hi):
            if m.start() < covered:
                continue  # inside the block of a key already taken whole
            if plugin.valid is not None and not plugin.valid(m.group()):
                continue
            start, end = m.span()
            if plugin.value_group and m.lastindex:  # a value after its name (AWS secret, basic auth password, npm)
                start, end = next((m.span(i) for i in range(1, m.lastindex + 1) if m.start(i) < m.end(i)), (start, end))
            if plugin.name == "NpmDetector":  # its group runs to the end of the line
                value = _NPM_VALUE.match(text, start)
                end = value.end() if value else end
            elif plugin.name == "AzureStorageKeyDetector" and text.startswith("AccountKey=", start):
                start += len("AccountKey=")  # its name stays, as for every value after a name
            elif plugin.name == "JwtTokenDetector":
                end = _PLUGIN_TAIL.match(text, end).end()
            elif plugin.name == "PrivateKeyDetector":  # it matches the header only: take the block
                if text[max(0, start - 5) : start] == "-----":
                    start -= 5
                tail = _KEY_END.search(text, end, end + 50000)
                end = tail.end() if tail else _KEY_BODY.match(text, end).end()
            while start < end and text[start] in _EDGE:
                start += 1
            while end > start and text[end - 1] in _EDGE:
                end -= 1
            if start >= end or (plugin.needs_digit and not _DIGIT.search(text, start, end)):
                continue
            if kind == "url_password" and (
                _REFERENCE.fullmatch(text, start, end) or _URL_PLACEHOLDER.fullmatch(text, start, end)
            ):
                continue
            if kind == "private_key":
                covered = end
                if not _KEY_BASE64.search(text, start, end):
                    continue  # a template such as "-----BEGIN EC PRIVATE KEY-----\n<key bytes>\n..."
            yield start, end, kind
