"""Find and redact secrets in dataset text: our own patterns plus detect-secrets' plugins.

What is found:

* our provider patterns: Anthropic, OpenAI, GitHub, AWS key ids and secret keys, Slack,
  Hugging Face, JWTs, private key blocks, passwords in URLs (only the password is redacted),
  Google API keys, Stripe, npm;
* generic assignments whose name holds key|token|secret|password|passwd|pwd|auth|credential, in
  any case: `NAME=value`, `export NAME=value`, `NAME: value`, `"NAME": "value"`,
  `\\"NAME\\": \\"value\\"`, `'NAME': 'value'`, `Authorization: Bearer value`. Only the value is
  redacted. Placeholders (`${VAR}`, `$VAR`, `<token>`, `***`, `xxx`, true/false/null/none, values
  under 8 characters, `[REDACTED:...]`) and code (`token = get_token()`, `key: self.key`) are kept;
* detect-secrets' regex plugins (`PLUGIN_NAMES`; imported when a hint first fires). Their
  `denylist` regexes are used directly, not `analyze_line`, which may call the provider to verify
  a candidate: a scrubber must never send a secret anywhere. The entropy and keyword plugins are
  not used (our patterns replace them).

Everything is escape-aware: a secret is found the same way in a plain string, in JSON text
embedded in a JSON string (`{\\"api_key\\": \\"sk-...\\"}`) and in `\\n`-escaped .env contents
(`KEY=sk-...\\nOTHER=1`: the escapes neither end up in the value nor stop detection).

Speed (the corpus is gigabytes). CPython's `re` skips ahead fast only to a single literal
character; to a set of characters it runs ~8 ns a byte, and an alternation whose branches start
with groups or classes is tried at every position (~10x slower again). So the patterns are
grouped by an ANCHOR: a rare character of their fixed prefix (`J` of `eyJ`, `_` of `ghp_`, `-` of
`sk-`), or a letter of a keyword (`k` of key/token, on a lowered copy). Each anchor has ONE
combined alternation, `<anchor>(?:(?P<g0>...)|(?P<g1>...)|...)`, the characters before the anchor
checked by lookbehind; eleven such passes scan a text (as UTF-8 bytes). A match either is a
secret, or hands the position to a function (an assignment's value, a URL's password), or is a
HINT: a necessary condition for a detect-secrets plugin, whose denylist then runs on the text.

Rows (`redact_row`, `scan_row`): every string of a row is scanned; a tool call's `arguments` JSON
string is redacted as a string (and, should that break its JSON, decoded, redacted value by value
and encoded again); a string stored under a secret-named key (`{"DB_PASSWORD": "..."}`) is judged
as that assignment's value. Redacting twice gives the same text as once: `redact` rescans its
output until nothing is found (at most 4 passes; a replacement can change a neighbour's context).

Findings and counts carry kinds and offsets only, never a secret's value; nothing here logs.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import orjson

REDACTED = "[REDACTED:{kind}]"
GENERIC = "generic_secret"  # kind of a `NAME=value` assignment whose NAME says it holds a secret

__all__ = ["REDACTED", "GENERIC", "PLUGIN_NAMES", "Finding", "Redactor", "Removed", "redact_row", "scan_row"]


@dataclass(frozen=True)
class Finding:
    """Where a secret is in a text and what kind it is; never the value itself."""

    kind: str
    start: int
    end: int


Span = tuple[int, int, str]  # start, end, kind
Handler = Callable[[bytes, bytes, int, list, "_Fired"], None]  # (text, lowered, position, spans, fired hints)

# --------------------------------------------------------------------------------------------
# Regex building blocks (written as str, compiled as bytes)
# --------------------------------------------------------------------------------------------


def _ci(word: str) -> str:
    """`word` in any case, as one-character classes (no inline flags: they cost speed)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


def _bound(before: str) -> str:
    """Right after the fixed-width prefix `before`: the prefix does not continue an alphanumeric
    word, unless a `\\n`-style escape precedes it (`...\\nsk-ant-...` in JSON-escaped text)."""
    return rf"(?:(?<![A-Za-z0-9]{before})|(?<=\\[nrt]{before}))"


def _rx(pattern: str) -> re.Pattern[bytes]:
    return re.compile(pattern.encode())


# A quote as it appears in plain text (`"`), in JSON inside a JSON string (`\"`) or deeper (`\\\"`).
_Q = r"""\\*["']"""
_SEP = r"""(?:\\*["'])?[ \t]*(?::=|=>|=|:)[ \t]*"""
# `Authorization: Bearer <token>`: the scheme is kept, the token redacted.
_SCHEME = r"(?:(?:[Bb]earer|BEARER|[Bb]asic|[Tt]oken)[ \t]+)?"
# An unquoted value stops at whitespace, quotes, backslashes (escapes such as `\n`) and separators.
_UNQUOTED = r"""[^\s"'\\`,;&|<>{}]"""
_DQ_VALUE, _SQ_VALUE = r'[^"\\\r\n]', r"[^'\\\r\n]"
# Values are judged on their first 256 characters (so that `key=key=key=...` costs no more than
# that per keyword); one judged a secret is redacted to its end.
_VALUE_CAP = 256
_NAME_TAIL = r"[A-Za-z0-9_.\-]{0,80}"
_T = r"[a-zA-Z0-9_\-]"


@dataclass(frozen=True)
class _Alt:
    """One alternative of an anchor's pass: a token, a handler's hit, or a plugin hint."""

    anchor: str  # the literal character the alternative starts with
    rest: str  # regex after the anchor (lookbehinds see the characters before it)
    kind: str = ""  # a token: the whole match, from `back` characters before the anchor
    back: int = 0
    call: Handler | None = None  # a hit: call(b, low, anchor position - back, spans, fired)
    plugin: str = ""  # a hint for this detect-secrets plugin (consumes only the anchor)
    lowered: bool = False  # matched on the lowered copy (keywords)
    guard: str = ""  # a cheap check shared by alternatives (the character before the anchor)


def _token(kind: str, before: str, anchor: str, rest: str) -> _Alt:
    """A token: fixed prefix `before` (a regex of one-character units) + `anchor`, then `rest`."""
    units = re.findall(r"\[[^\]]*\]|\\.|.", before)
    prefix = before + re.escape(anchor)
    look = f"(?<={prefix})" if before else ""
    guard = f"(?<={units[-1]}{re.escape(anchor)})" if units else ""
    return _Alt(anchor, look + _bound(prefix) + rest, kind, back=len(units), guard=guard)


def _hint(plugin: str, anchor: str, rest: str, guard: str = "") -> _Alt:
    return _Alt(anchor, rest, plugin=plugin, guard=guard)


# --------------------------------------------------------------------------------------------
# Handlers: what to do at a keyword or a `://`
# --------------------------------------------------------------------------------------------

_URL_PASSWORD = _rx(r"""://[^\s:/?#@"'\\<>]*:([^\s/?#@"'\\<>]+)@""")
_AWS_SECRET = _rx(_ci("aws_secret_access_key") + _SEP + f"(?:{_Q})?" + r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])")

# Assignment keywords: (keyword as found, regex from there, lookahead ruling out non-secret words).
# `pass` is found so that the IBM hints see it too; the assignment needs `passw`.
_KEYWORDS: tuple[tuple[str, str, str], ...] = (
    ("key", "key", r"(?![bB][oO][aA][rR][dD]|[wW][oO][rR][dD]|[sS][tT][rR][oO][kK][eE]|[fF][rR][aA][mM][eE])"),
    ("token", "token", r"(?![iI][zZ])"),  # tokenizer, tokenize
    ("secret", "secret", r"(?![aA][rR][yY])"),  # secretary
    ("pass", "passw", ""),  # password, passwd
    ("pwd", "pwd", ""),
    ("auth", "auth", r"(?![oO][rR](?![iI][zZsS]))"),  # author, authored; not authorization
    ("credential", "credential", ""),
)


def _assignment(word: str, exclude: str) -> re.Pattern[bytes]:
    head = _ci(word) + exclude + _NAME_TAIL + _SEP
    cap = f"{{1,{_VALUE_CAP}}}"
    return _rx(f"{head}(?:" + r'\\*"' + _SCHEME + f"(?P<dq>{_DQ_VALUE}{cap})"
               + "|" + r"\\*'" + _SCHEME + f"(?P<sq>{_SQ_VALUE}{cap})"
               + "|" + _SCHEME + f"(?P<u>{_UNQUOTED}{cap}))")


_VALUE_RUNS = {"dq": _rx(_DQ_VALUE + "*"), "sq": _rx(_SQ_VALUE + "*"), "u": _rx(_UNQUOTED + "*")}


_ASSIGNMENTS = {found: _assignment(word, exclude) for found, word, exclude in _KEYWORDS}
# A dict key that names a secret: the value of {"DB_PASSWORD": "..."} is an assignment value.
_SECRET_NAME = re.compile("|".join(_ci(word) + exclude for _, word, exclude in _KEYWORDS))

# detect-secrets hints checked at a keyword (on the lowered text) or at a `://`.
_IBM_IAM_HINT = _rx(rf"""(?:key|pwd|password|pass|token)["']?\]? *(?:=|:|:=|=>| +|::) *["']?{_T}{{44}}(?!{_T})""")
_IBM_COS_HINT = _rx(r"secret[-_]?(?:access)?[-_]?key")
_CLOUDANT_BEFORE = _rx(r"(?:cloudant|clou|cl)[-_]?(?:api[-_]?)?\Z")
_SOFTLAYER_BEFORE = _rx(r"(?:softlayer|sl)[-_]?(?:api[-_]?)?\Z")
_BASIC_AUTH_HINT = _rx(r"""://[^:/?#\[\]@!$&'()*+,;=\s]+:[^:/?#\[\]@!$&'()*+,;=\s]+@""")
_PLUGIN_WORDS = frozenset({"key", "token", "pass", "pwd"})  # the assignment plugins' keywords


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


def _on_keyword(found: str) -> Handler:
    assignment = _ASSIGNMENTS[found]

    def handle(b: bytes, low: bytes, i: int, out: list, fired: _Fired) -> None:
        m = assignment.match(b, i)
        name_at = _name_start(low, i) if m is not None else 0
        # Not when the name is a segment of a URN or path (`urn:...:oauth:token-type:saml2`).
        if m is not None and not (name_at > 0 and low[name_at - 1] in b":/"):
            variant = m.lastgroup
            start, end = m.span(variant)
            if variant == "u":
                end = _trim_unquoted(b, start, end)
            value = b[start:end].decode("utf-8", "surrogatepass")
            spaced = b[start - 1] in b" \t"
            name = _NAME_RUN.match(low, name_at).group()
            # `Authorization: Bearer <value>`: a credential, whatever it looks like.
            schemed = b"auth" in name and _SCHEME_BEFORE.search(b, max(0, start - 12), start) is not None
            if schemed:
                secret = len(value) >= 8 and not (_REFERENCE.fullmatch(value) or _PLACEHOLDER.fullmatch(value))
            elif spaced and variant == "u" and _PROSE_AFTER.match(b, end):
                secret = False  # `:param password: database password.` is prose
            else:
                secret = _plausible(value, variant, spaced, b"pass" in name or b"pwd" in name, name.decode("latin-1"))
            if secret:
                if end - start == _VALUE_CAP:
                    end = _VALUE_RUNS[variant].match(b, end).end()
                out.append((start, end, GENERIC))
        if found in _PLUGIN_WORDS:
            if _IBM_IAM_HINT.match(low, i):
                fired.add("IbmCloudIamDetector", i)
            lo = max(0, i - 20)
            if _CLOUDANT_BEFORE.search(low, lo, i):
                fired.add("CloudantDetector", i)
            if _SOFTLAYER_BEFORE.search(low, lo, i):
                fired.add("SoftlayerDetector", i)
            if low.find(b"aws", max(0, i - 23), i) >= 0:
                fired.add("AWSKeyDetector", i)  # aws.{0,20}?(key|pwd|pass|token).{0,20}?['"]<40>['"]
        elif found == "secret":
            if _IBM_COS_HINT.match(low, i):
                fired.add("IbmCosHmacDetector", i)
            if i >= 4 and low[i - 4:i] == b"aws_" and (s := _AWS_SECRET.match(b, i - 4)):
                out.append((*s.span(1), "aws_secret_key"))

    return handle


def _on_scheme(b: bytes, low: bytes, i: int, out: list, fired: _Fired) -> None:
    m = _URL_PASSWORD.match(b, i)
    if m is not None:
        password = m.group(1).decode("utf-8", "replace")
        if not (_REFERENCE.fullmatch(password) or _URL_PLACEHOLDER.fullmatch(password)):
            out.append((*m.span(1), "url_password"))
    if _BASIC_AUTH_HINT.match(b, i):
        fired.add("BasicAuthDetector", i)
    if low.startswith(b"://hooks.slack.com/", i):
        fired.add("SlackDetector", i)
    elif low.startswith(b"://api.softlayer.com/", i):
        fired.add("SoftlayerDetector", i)
    elif low.find(b"cloudant.com", i, i + 300) >= 0:
        fired.add("CloudantDetector", i)


_KW = {found: _on_keyword(found) for found, _, _ in _KEYWORDS}

# --------------------------------------------------------------------------------------------
# Every alternative, by anchor
# --------------------------------------------------------------------------------------------

# After a keyword (lowered): the shapes its handler can use. An assignment (`NAME=`, `NAME:`,
# `"NAME":`), a long value after spaces (the IBM, Cloudant and SoftLayer plugins accept ` +` as
# assignment) or a quoted 40-char value within 20 characters (the AWS plugin's secret key regex).
_SHAPE = (r"""(?:[a-z0-9_.\-]{0,80}(?:\\*["'\]])?[ \t]*[=:]|["'\]]? +["']?[a-z0-9_\-/+]{24}"""
          r"""|.{0,20}?["'][0-9a-z/+]{40}["'])""")
_DISCORD = "".join(rf"|(?<=[MNO]{_T}{{{n}}}\.)" for n in (23, 24, 25))[1:]
_ALTS: list[_Alt] = [
    # `_`
    _token("github_token", "gh[pousr]", "_", r"[A-Za-z0-9]{30,}"),
    _token("github_token", "github", "_", r"pat_[A-Za-z0-9_]{22,}"),
    _token("huggingface_token", "hf", "_", r"[A-Za-z0-9]{30,}"),
    _token("npm_token", "npm", "_", r"[A-Za-z0-9]{36,}"),
    _token("stripe_key", "[sr]k", "_", r"live_[0-9A-Za-z]{24,}"),
    _hint("GitHubTokenDetector", "_", "(?<=gh[pousr]_)", guard="(?<=[pousr]_)"),
    _hint("StripeDetector", "_", "(?<=k_)(?=live_)", guard="(?<=k_)"),
    _hint("NpmDetector", "_", "(?<=/:_)(?=authToken=)", guard="(?<=:_)"),
    # `A`
    _token("aws_access_key_id", "", "A", r"(?:KIA|SIA)[0-9A-Z]{16}(?![0-9A-Za-z])"),
    _token("google_api_key", "", "A", r"Iza[0-9A-Za-z_\-]{35}"),
    _hint("AWSKeyDetector", "A", "(?=KIA|SIA|BIA|CCA|3T[A-Z0-9])"),
    _hint("ArtifactoryDetector", "A", "(?=KC[a-zA-Z0-9]{10}|P[0-9A-F][a-zA-Z0-9]{8})"),
    _hint("AzureStorageKeyDetector", "A", "(?=ccountKey=)"),
    _hint("TwilioKeyDetector", "A", "(?=C[a-z0-9]{32})"),
    _hint("PypiTokenDetector", "A", "(?<=pypi-A)(?=gE)"),
    # Telegram: the `:AA` that starts the secret half of every real bot token.
    _hint("TelegramBotTokenDetector", "A", r"(?<=[0-9]{8}:A)(?=A[0-9A-Za-z_\-]{33})"),
    # `J`
    # (A header is short: bounding it keeps `eyJeyJeyJ...` linear.)
    _token("jwt", "ey", "J", r"[A-Za-z0-9_\-]{2,1000}\.eyJ[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]*"),
    _hint("JwtTokenDetector", "J", "(?<=eyJ)(?=[A-Za-z0-9_=\-]{1,1000}\.)"),
    _hint("OpenAIDetector", "J", "(?<=T3BlbkFJ)"),
    # `-`
    _token("anthropic_key", "sk", "-", r"ant-[A-Za-z0-9_\-]{20,}"),
    _token("openai_key", "sk", "-", r"(?:proj-|svcacct-|admin-)?(?=[A-Za-z_\-]{0,200}[0-9])[A-Za-z0-9_\-]{20,}"),
    _token("slack_token", "xox[abposr]", "-", r"[A-Za-z0-9\-]{10,}"),
    # A private key through its END line; if that was cut off, through the base64 body that follows.
    _Alt("-", r"----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
              r"(?:[\s\S]{0,50000}?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
              r"|(?:\\[nr]|[A-Za-z0-9+/=\s:,._\-])*)", "private_key", guard="(?=-)"),
    _hint("SlackDetector", "-", "(?<=[xX][oO][xX][aAbBpPoOsSrR]-)", guard="(?<=[aAbBpPoOsSrR]-)"),
    _hint("SquareOAuthDetector", "-", "(?<=sq0csp-)", guard="(?<=[aAbBpPoOsSrR]-)"),
    _hint("MailchimpDetector", "-", "(?<=[0-9a-z]{32}-)", guard="(?=us[0-9])"),
    _hint("GitLabTokenDetector", "-", "(?<=gl(?:pat|cbt|imt|ptt|oas)-)|(?<=gl[dfr]t-)|(?<=glsoat-)|(?<=glagent-)",
          guard="(?<=[ts]-)"),
    # `K`
    _hint("TwilioKeyDetector", "K", "(?<=SK)(?=[a-z0-9]{32})"),
    _hint("PrivateKeyDetector", "K", "(?<=PRIVATE K)(?=EY)|(?<=PuTTY-User-K)(?=ey-File-2)"),
    # `.`
    _hint("DiscordBotTokenDetector", ".", f"(?={_T}{{6}}\\.)(?:{_DISCORD})"),
    _hint("SendGridDetector", ".", r"(?<=SG\.)"),
    # `:`
    # Only URLs with a user part, or the webhook and API hosts some plugins look for.
    _Alt(":", r"""(?=//[^\s/?#"'<>\\]*@|//(?i:hooks\.slack\.com|api\.softlayer\.com)/)""", call=_on_scheme),
    # keywords, on the lowered copy
    _Alt("k", "(?=ey" + _SHAPE + ")", call=_KW["key"], lowered=True),
    _Alt("k", "(?<=tok)(?=en" + _SHAPE + ")", call=_KW["token"], back=2, lowered=True),
    _Alt("c", "(?<=sec)(?=ret" + _SHAPE + ")", call=_KW["secret"], back=2, lowered=True),
    _Alt("c", "(?=redential" + _SHAPE + ")", call=_KW["credential"], lowered=True),
    _Alt("p", "(?=ass" + _SHAPE + ")", call=_KW["pass"], lowered=True),
    _Alt("p", "(?=wd" + _SHAPE + ")", call=_KW["pwd"], lowered=True),
    _Alt("u", "(?<=au)(?=th" + _SHAPE + ")", call=_KW["auth"], back=1, lowered=True),
]

# --------------------------------------------------------------------------------------------
# Is an assignment's value a secret?
# --------------------------------------------------------------------------------------------

# A value that stands for a secret instead of being one.
_REFERENCE = re.compile(
    r"""\$.*                                  # $VAR, ${VAR}, $(cmd)
      | <[^<>]*>                               # <placeholder>
      | \{\{.*\}\} | \{[A-Za-z_][\w.\-]*\}     # {{ template }}, {secret_key}
      | %\(?\w*\)?s                            # %s, %(name)s
      | \[REDACTED(?::[^\]]*)?\]               # already redacted
      | (.)\1*                                 # one repeated char: ********, xxxxxxxx
    """,
    re.VERBOSE,
)
_PLACEHOLDER = re.compile(
    r"""(?i:true|false|null|none|nil|undefined|redacted|required|optional|changeme|string|secret|password)
      | (?i:your|my)[_\-].*                    # your_api_key_here
      | .{0,16}?(?:x{3,}|X{3,}|\*{3,}|\.{3,}|…).{0,6}   # sk-ant-xxxx, sk-..., ghp_****
      | [+-]?[0-9][0-9_,]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,3})?   # numbers: max_tokens=100000, 1e-5
      | .*(?:EXAMPLE|(?i:example)).*           # AWS docs' AKIAIOSFODNN7EXAMPLE, example-token
    """,
    re.VERBOSE,
)
_URL_PLACEHOLDER = re.compile(r"(?i:pass|passwd|password|pwd|secret|changeme)")  # user:password@host in docs
_CALL = re.compile(r"([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)[(\[]")  # get(..., os.environ[...
_DOTTED = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")  # a.b.c
_BASE64ISH = re.compile(r"[A-Za-z0-9+/=_\-.]+")
_SYMBOL = re.compile(r"[!@#$%^&*~]")  # as in passwords; not / + = ? . of paths, base64 and code
_ACRONYM_WORDS = re.compile(r"[A-Za-z][a-z]*[A-Z]*[0-9]*(?:[A-Z][a-z]+)+")  # MLDSA44PrivateKey, sha256Digest
_VOWELS = re.compile(r"[aeiouyAEIOUY]")
# arn:aws:kms:..., urn:ietf:..., tag:yaml.org,2002:str
_URI = re.compile(r"(?:arn|urn|tag|mailto|data|file):|[a-z][a-z0-9+.\-]*:[^:\s]*:")
_KEYWORDS_ANY_CASE = "|".join(f"{w}|{w.capitalize()}|{w.upper()}"
                               for w in ("key", "token", "secret", "passw", "pwd", "auth", "credential"))
_KEYWORD_WORD = re.compile(rf"[A-Za-z_\-]*(?:{_KEYWORDS_ANY_CASE})[A-Za-z_\-]*[0-9]*")  # access_token, PASSWORDLESS
_TYPE_EXPR = re.compile(r"[A-Za-z_][\w.]*[\[(].*[\])]")  # list[Rule], dict(str, str)
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_PROSE_AFTER = re.compile(rb" +[A-Za-z]")
_SCHEME_BEFORE = _rx(_SCHEME[3:-2] + r"\Z")  # `Bearer ` right before the value
# An expression (a==b, e[n].key===r, x&&y, this.origin===), not a password that holds `!=`.
_OPERATOR = re.compile(r"!*[\w.$\[\]()]+(?:(?:[=!]==?|&&|\|\|)!*[\w.$\[\]()]+)+|[\w.$\[\]()]+[=!]==")
_NEGATION = re.compile(r"!+[A-Za-z_$][\w.$]*")
_MIXED = re.compile(r"(?=.*[0-9])(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9+=_\-]+")  # digits and both cases
_SNAKE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+")  # past_key_values, VAULT_SECRET
_CAMEL = re.compile(r"(?:[a-z]+|[A-Z]+(?=[A-Z][a-z])|[A-Z][a-z]+)(?:[A-Z]+(?=[A-Z][a-z]|$)|[A-Z][a-z]+)*")
_CAMEL_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_LOWER_UPPER = re.compile(r"[a-z][A-Z]")
_PATH = re.compile(r"(?:~|\.{1,2})?/[\w.@~+/\-]*")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_PROSE = re.compile(r"[A-Za-z][A-Za-z,.'!?\-]*(?: [A-Za-z,.'!?\-]+)+")
_DIGIT = re.compile(r"[0-9]")
_LETTER = re.compile(r"[A-Za-z]")
_NAME_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_NAME_RUN = re.compile(rb"[A-Za-z0-9_.\-]{0,160}")


def _identifier(value: str, camel: bool = True) -> bool:
    """A name from code, not a random string: snake_case or UPPER_SNAKE; with `camel`, also
    camelCase or PascalCase words without digits whose words have vowels (`isMultiRegionKeyPool`,
    `nextToken`; random letters rarely fit). People pick camel-case passwords: not for those."""
    value = value.strip("_$")
    if _SNAKE.fullmatch(value):
        return value.islower() or value.isupper()  # random base64url with `_` mixes case
    if not camel or not _CAMEL.fullmatch(value):
        return False
    words = _CAMEL_WORD.findall(value)
    return len(words) >= 2 and sum(1 for w in words if _VOWELS.search(w)) >= 0.75 * len(words)


def _dotted(value: str) -> bool:
    """A property path: self.token, process.env.API_KEY, R6e.eventDataKeys, mldsa.MLDSA44PrivateKey;
    not `sfVVNGibOoehBqCZkI.s6X`: every segment must read as a name."""
    return bool(_DOTTED.fullmatch(value)) and all(_code_segment(seg) for seg in value.split("."))


def _code_segment(seg: str) -> bool:
    word = seg.strip("_$").rstrip("0123456789")
    if "_" in word:  # id_aa_KP_keyPkgIdAndReceiptReq
        return all(_code_segment(part) for part in word.split("_") if part)
    return (len(word) <= 3 or word.islower() or word.isupper() or word.istitle() or _identifier(word)
            or bool(_ACRONYM_WORDS.fullmatch(word)))


def _randomish(value: str) -> bool:
    """Looks generated (keys and tokens are): letters with digits or symbols, or long mixed-case base64."""
    if _LETTER.search(value) and (_DIGIT.search(value) or _SYMBOL.search(value)):
        return True
    return len(value) >= 16 and bool(_BASE64ISH.fullmatch(value)) and not (value.islower() or value.isupper())


def _path(value: str) -> bool:
    """/srv/app/.env, ~/.ssh/id_rsa, ./config: not a base64 value that happens to start with `/`."""
    return bool(_PATH.fullmatch(value)) and not any(_random_segment(seg) for seg in value.split("/"))


def _random_segment(seg: str) -> bool:
    return len(seg) >= 8 and _MIXED.fullmatch(seg) is not None and not _code_segment(seg)


def _plausible(value: str, variant: str, spaced: bool = False, words: bool = False, name: str = "") -> bool:
    """Is an assignment's value worth redacting? False for placeholders, references and code.
    `variant`: "dq"/"sq" (quoted) or "u"; `spaced`: whitespace before the value (`x = v`);
    `words`: the name says password (people choose words); other keys and tokens are generated,
    so their values must look random (`"result_key": "findings"`, `key: 'completed'` are not);
    `name`: the assignment's name (`AUTH_FACTOR_BYPASSCODE = "BYPASSCODE"` is an enum)."""
    if variant == "u" and value.startswith("="):  # KEY==x9!secret, or code: e.key===r
        return _plausible(value.lstrip("="), variant, spaced, words, name)
    if len(value) < 8 or _REFERENCE.fullmatch(value) or _PLACEHOLDER.fullmatch(value):
        return False
    if name and len(value) <= 160:  # KEY_STATE_CREATING = "CREATING"; id_ecPublicKey = rfc5480.id_ecPublicKey
        plain_value, plain_name = _NOT_ALNUM.sub("", value.lower()), _NOT_ALNUM.sub("", name.lower())
        if plain_value in plain_name or (len(plain_name) >= 6 and plain_name in plain_value):
            return False
    if _URL.match(value) or _path(value) or _URI.match(value):
        return False  # a URL's password and query tokens are found on their own; arn:aws:..., urn:...
    # Passwords may be camel-case words, but not after `password: ` or `password = ` in code.
    if _identifier(value, camel=not words or (variant == "u" and spaced)) or _dotted(value):
        return False  # past_key_values=past_key_values, "input_token": "nextToken", self.token
    if _KEYWORD_WORD.fullmatch(value):
        return False  # token_type = "access_token", PASSWORDLESS: names, not values
    if value[0] in (")]},;" if variant != "u" else "([{)]},;:"):
        return False  # :param str retry_token: (optional), key===r; a quote that closed a string: "?api_key="], ...
    if variant != "u":
        if " " in value and (not words or _PROSE.fullmatch(value)):
            return False  # "authentication": "required for all calls"; keys and tokens have no spaces
        if _TYPE_EXPR.fullmatch(value):
            return False
    else:
        if _OPERATOR.fullmatch(value) or _NEGATION.fullmatch(value):
            return False  # a==b, !!x.y
        call = _CALL.match(value)
        if call and (spaced or value[-1] in "([)]" or not call.group(1).isalpha()
                     or _LOWER_UPPER.search(call.group(1)) or call.group(1).islower()):
            return False  # a call or subscript: token=get_token(), key=os.environ[...]; not Summer(2024)!
    return words or _randomish(value)


def _name_start(low: bytes, i: int) -> int:
    """Where the name holding the keyword at `i` starts."""
    start = i
    while start > 0 and low[start - 1] in _NAME_BYTES and i - start < 80:
        start -= 1
    return start


def _trim_unquoted(b: bytes, start: int, end: int) -> int:
    """Cut at the first closing bracket that the value did not open: f(token=abc123) keeps its `)`."""
    if b.find(b")", start, end) < 0 and b.find(b"]", start, end) < 0:
        return end
    depth = 0
    for k in range(start, end):
        c = b[k]
        if c in b"([":
            depth += 1
        elif c in b")]":
            if depth == 0:
                return k
            depth -= 1
    return end


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
        plugins[cls_name] = _Plugin(cls_name, kind, tuple(cls.denylist), needs_digit,
                                    getattr(cls, "is_formally_valid", None), where == VALUE)
    return plugins


_PLUGIN_CLASSES = frozenset(spec[1] for spec in _PLUGIN_SPECS)
_PLUGINS: dict[str, _Plugin] = {}  # loaded when a hint first fires: importing detect-secrets takes ~0.3 s


def _plugins() -> dict[str, _Plugin]:
    if not _PLUGINS:
        _PLUGINS.update(_load_plugins())
    return _PLUGINS


def __getattr__(name: str):
    if name == "PLUGIN_NAMES":  # the plugins this detect-secrets ships (importing it)
        return tuple(_plugins())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class _Pass:
    """One anchor's scan: ONE alternation of its alternatives, each a named group."""

    lowered: bool
    regex: re.Pattern[bytes]
    alts: dict[str, _Alt]
    # A match shadows the other alternatives at its position: the hints are checked there too.
    hints: tuple[tuple[str, re.Pattern[bytes]], ...] = field(default=())


def _passes(alts: list[_Alt]) -> tuple[_Pass, ...]:
    grouped: dict[tuple[str, bool], list[_Alt]] = {}
    for alt in alts:
        if not alt.plugin or alt.plugin in _PLUGIN_CLASSES:  # a plugin not shipped never fires
            grouped.setdefault((alt.anchor, alt.lowered), []).append(alt)
    passes = []
    for (anchor, lowered), group in grouped.items():
        group.sort(key=lambda a: bool(a.plugin))  # secrets before hints: they win at a position
        names = {f"g{i}": alt for i, alt in enumerate(group)}
        # Alternatives sharing a guard go under it: `-(?:(?<=k-)(?:sk-ant|sk-)|...)`.
        guarded: dict[tuple[bool, str], list[str]] = {}
        for name, alt in names.items():
            guarded.setdefault((bool(alt.plugin), alt.guard), []).append(f"(?P<{name}>{alt.rest})")
        body = "|".join(f"{guard}(?:{'|'.join(bodies)})" for (_, guard), bodies in guarded.items())
        hints = tuple((a.plugin, _rx(re.escape(anchor) + f"(?:{a.rest})")) for a in group if a.plugin)
        passes.append(_Pass(lowered, _rx(re.escape(anchor) + f"(?:{body})"), names, hints))
    return tuple(passes)


_PASSES = _passes(_ALTS)

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
_DELIMITERS = str.maketrans({"'": '"', "`": '"', "(": " ", ")": " ", "[": " ", "]": " ", "{": " ",
                             "}": " ", "<": " ", ">": " ", ",": " ", ";": " ", "|": " "})


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
                if text[max(0, start - 5):start] == "-----":
                    start -= 5
                tail = _KEY_END.search(text, end, end + 50000)
                end = tail.end() if tail else _KEY_BODY.match(text, end).end()
            while start < end and text[start] in _EDGE:
                start += 1
            while end > start and text[end - 1] in _EDGE:
                end -= 1
            if start >= end or (plugin.needs_digit and not _DIGIT.search(text, start, end)):
                continue
            if kind == "url_password" and (_REFERENCE.fullmatch(text, start, end)
                                           or _URL_PLACEHOLDER.fullmatch(text, start, end)):
                continue
            if kind == "private_key":
                covered = end
                if not _KEY_BASE64.search(text, start, end):
                    continue  # a template such as "-----BEGIN EC PRIVATE KEY-----\n<key bytes>\n..."
            yield start, end, kind


# --------------------------------------------------------------------------------------------
# Scanning one text: UTF-8 bytes `b` and their lowered copy `low`
# --------------------------------------------------------------------------------------------


_SCANS = tuple((p.lowered, p.regex.search, p.alts, p.hints) for p in _PASSES)


def _scan(b: bytes, low: bytes, out: list[Span], fired: _Fired) -> None:
    for lowered, search, alts, hints in _SCANS:
        hay = low if lowered else b
        pos = 0
        while (m := search(hay, pos)) is not None:
            at = m.start()
            for plugin, hint in hints:
                if fired.wants(plugin, at) and hint.match(hay, at):
                    fired.add(plugin, at)
            alt = alts[m.lastgroup]
            if alt.kind:
                if alt.kind != "private_key" or _KEY_BASE64_BYTES.search(hay, at, m.end()):
                    out.append((at - alt.back, m.end(), alt.kind))
            elif alt.call is not None:
                alt.call(b, low, at - alt.back, out, fired)
            pos = m.end()


_CONTINUATION = bytes(range(0x80, 0xC0))
_NOT_CONTINUATION = bytes(set(range(256)) - set(_CONTINUATION))


def _char_offsets(b: bytes, points: Iterable[int]) -> dict[int, int]:
    """Byte offsets into UTF-8 `b` -> character offsets (a character = a non-continuation byte)."""
    chars: dict[int, int] = {}
    last_b = last_c = 0
    for p in sorted(set(points)):
        last_c += (p - last_b) - len(b[last_b:p].translate(None, _NOT_CONTINUATION))
        last_b = p
        chars[p] = last_c
    return chars


_REDACTED_RE = re.compile(r"\[REDACTED:[a-z0-9_]+\]")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_\-]*")  # the rest of a token a span ends inside
_PRIORITY = {GENERIC: 0, "url_password": 1}  # on overlap, the most specific kind names the span


def _is_redacted(text: str, start: int, end: int) -> bool:
    """The span is (inside) a `[REDACTED:kind]` marker."""
    left = text.rfind("[REDACTED:", max(0, start - 40), end)
    if left < 0:
        return False
    m = _REDACTED_RE.match(text, left)
    return m is not None and m.start() <= start and end <= m.end()


# --------------------------------------------------------------------------------------------
# The redactor
# --------------------------------------------------------------------------------------------


class Redactor:
    """Finds secrets in text and replaces each with `[REDACTED:<kind>]`.

    `extra_patterns` maps kind -> regex (str); the pattern's named group `secret`, if it has
    one, is what is redacted, otherwise the whole match.
    """

    def __init__(self, extra_patterns: Mapping[str, str] | None = None):
        self._extra = [(kind, re.compile(rx)) for kind, rx in (extra_patterns or {}).items()]

    def _spans(self, text: str) -> list[Span]:
        b = text.encode("utf-8", "surrogatepass")
        raw: list[Span] = []
        fired = _Fired()
        _scan(b, b.lower(), raw, fired)
        if (raw or fired) and len(b) != len(text):  # not ASCII: byte offsets -> character offsets
            chars = _char_offsets(b, [p for s, e, _ in raw for p in (s, e)] + [p for ps in fired.values() for p in ps])
            raw = [(chars[s], chars[e], k) for s, e, k in raw]
            fired = {name: [chars[p] for p in ps] for name, ps in fired.items()}
        plugins = _plugins() if fired else _PLUGINS
        view = _plugin_view(text) if fired else text
        for name, positions in fired.items():
            if name in plugins:
                for lo, hi in _windows(positions, len(text)):
                    raw.extend(_plugin_spans(plugins[name], view, lo, hi))
        for kind, regex in self._extra:
            for m in regex.finditer(text):
                start, end = m.span("secret") if "secret" in regex.groupindex else m.span()
                if start < end:
                    raw.append((start, end, kind))
        if not raw:
            return raw
        # A replacement covers the whole secret: a span that stops inside a run of token
        # characters (a detector whose match ends early, at a `-` or a length limit) runs to its end.
        raw = [(s, _TOKEN_RUN.match(text, e).end(), k) for s, e, k in raw]
        raw.sort()
        merged: list[Span] = []
        for start, end, kind in raw:
            if merged and start < merged[-1][1]:
                s, e, k = merged[-1]
                if _PRIORITY.get(kind, 2) > _PRIORITY.get(k, 2):
                    k = kind
                merged[-1] = (s, max(e, end), k)
            else:
                merged.append((start, end, kind))
        return [(s, e, k) for s, e, k in merged if not _is_redacted(text, s, e)]

    def findings(self, text: str) -> list[Finding]:
        """Every secret in `text` as kind and offsets; [] when the text is clean."""
        if not text:
            return []
        return [Finding(k, s, e) for s, e, k in self._spans(text)]

    def redact(self, text: str, removed: list | None = None) -> tuple[str, Counter]:
        """`text` with every secret replaced by `[REDACTED:<kind>]`, and the count of each kind.

        Given a list, `removed` gains one `Removed` per secret replaced: its kind, its value and
        where its marker sits in the returned text. That list is the caller's to reduce (to a
        salted hash) and drop; nothing here keeps or shows it."""
        spans = self._spans(text) if text else None
        counts: Counter = Counter.__new__(Counter)  # = Counter(), without its slow __init__ (hot path)
        mine: list[Removed] = []
        for _ in range(4):  # a replacement can expose a new context: rescan until stable (idempotent)
            if not spans:
                break
            parts, last, out_at, placed = [], 0, 0, []
            for start, end, kind in spans:
                parts.append(text[last:start])
                out_at += start - last
                marker = REDACTED.format(kind=kind)
                parts.append(marker)
                placed.append((start, end, out_at, len(marker)))
                if removed is not None:
                    mine.append(Removed(kind, text[start:end], out_at))
                out_at += len(marker)
                counts[kind] += 1
                last = end
            parts.append(text[last:])
            if removed is not None and len(mine) > len(placed):  # earlier passes' markers moved
                mine[:-len(placed)] = [r._replace(at=_moved(r.at, placed)) for r in mine[:-len(placed)]]
            text = "".join(parts)
            spans = self._spans(text)
        if removed is not None:
            removed.extend(mine)
        return text, counts

    def redact_value(self, name: str, value: str, removed: list | None = None) -> tuple[str, Counter]:
        """A value stored under `name` (`{"DB_PASSWORD": "..."}`): redacted whole when the name
        says it holds a secret and the value looks like one. `removed` as for `redact`."""
        mine: list[Removed] | None = [] if removed is not None else None
        text, counts = self.redact(value, mine)
        if _SECRET_NAME.search(name) and _bare_secret(name, text):
            counts[GENERIC] += 1
            if removed is not None:
                removed.append(Removed(GENERIC, value, 0))
            return REDACTED.format(kind=GENERIC), counts
        if removed is not None:
            removed.extend(mine)
        return text, counts


@dataclass(frozen=True, slots=True)
class Removed:
    """A secret `Redactor.redact` replaced: its kind, its VALUE, and the offset of its marker in
    the redacted text (what precedes it there is its context). Reduce it to a salted hash at
    once: it must never be written, logged or shown (its repr hides the value)."""

    kind: str
    value: str = field(repr=False)
    at: int

    def _replace(self, **changes) -> "Removed":
        return Removed(**{"kind": self.kind, "value": self.value, "at": self.at, **changes})


def _moved(at: int, placed: list[tuple[int, int, int, int]]) -> int:
    """Where offset `at` of a text is after the replacements `placed` ((start, end, offset and
    length of the marker in the new text), in order); inside a replaced span: at its marker."""
    shift = 0
    for start, end, out_at, size in placed:
        if at < start:
            break
        if at < end:
            return out_at
        shift = out_at + size - end
    return at + shift


def _bare_secret(name: str, value: str) -> bool:
    """A value under a secret-named key that is redacted as a whole."""
    low = name.lower()
    return not _is_redacted(value, 0, len(value)) and _plausible(value, "dq", words="pass" in low or "pwd" in low,
                                                                 name=name)


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


# Short strings recur (roles, "function", tool names, small outputs): their redaction (a pure
# function of key and text for a Redactor without extra patterns) is remembered, boundedly.
_SHORT, _SHORT_LEN, _SHORT_MAX = {}, 48, 1 << 16


def _redact_obj(obj, redactor: Redactor, counts: Counter, key: str = ""):
    """Every string in a JSON-like value redacted; a string under a secret-named key as a whole."""
    if isinstance(obj, str):
        if key == "arguments":
            return _redact_arguments(obj, redactor, counts)
        short = len(obj) <= _SHORT_LEN and not redactor._extra
        if short and (done := _SHORT.get((key, obj))) is not None:
            text, found = done
        else:
            text, found = redactor.redact_value(key, obj) if key else redactor.redact(obj)
            if short:
                if len(_SHORT) >= _SHORT_MAX:
                    _SHORT.clear()
                _SHORT[(key, obj)] = text, dict(found)
        if found:
            counts.update(found)
        return text
    if isinstance(obj, dict):
        return {k: _redact_obj(v, redactor, counts, k if isinstance(k, str) else "") for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact_obj(v, redactor, counts) for v in obj]
    return obj


def _redact_arguments(args: str, redactor: Redactor, counts: Counter) -> str:
    """A tool call's JSON-string arguments: redact the string itself; if that broke the JSON,
    redact the decoded value's strings and encode it again."""
    text, found = redactor.redact(args)
    if text != args:
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError:
            try:
                decoded = orjson.loads(args)
            except orjson.JSONDecodeError:  # was not JSON to begin with: the redacted string it is
                pass
            else:
                inner: Counter = Counter()
                text = orjson.dumps(_redact_obj(decoded, redactor, inner)).decode()
                found = inner
    counts.update(found)
    return text


def redact_row(row: dict, redactor: Redactor, counts: Counter) -> dict:
    """A copy of `row` with the secrets in every string redacted (message contents, tool-call
    arguments, anything nested); `counts` gains the number redacted of each kind."""
    return _redact_obj(row, redactor, counts)


def _scan_obj(obj, redactor: Redactor, found: Counter, key: str = "") -> None:
    if isinstance(obj, str):
        for f in redactor.findings(obj):
            found[f.kind] += 1
        if key and key != "arguments" and _SECRET_NAME.search(key) and _bare_secret(key, obj):
            found[GENERIC] += 1
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _scan_obj(v, redactor, found, k if isinstance(k, str) else "")
    elif isinstance(obj, list):
        for v in obj:
            _scan_obj(v, redactor, found)


def scan_row(row: dict, redactor: Redactor) -> Counter:
    """Kinds of the secrets still present anywhere in `row` (the re-scan of written datasets)."""
    found: Counter = Counter()
    _scan_obj(row, redactor, found)
    return found
