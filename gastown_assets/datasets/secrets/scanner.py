"""The passes over one text: `Finding`, the alternatives (`_Alt`) and the handlers they call (what
to do at a keyword or a `://`), every alternative by anchor, the passes built from them, the scan."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .detectors import _KEY_BASE64_BYTES, _PLUGIN_CLASSES, _Fired
from .patterns import (
    _ASSIGNMENTS,
    _AWS_SECRET,
    _BASIC_AUTH_HINT,
    _CLOUDANT_BEFORE,
    _IBM_COS_HINT,
    _IBM_IAM_HINT,
    _KEYWORDS,
    _PLUGIN_WORDS,
    _SOFTLAYER_BEFORE,
    _T,
    _URL_PASSWORD,
    _VALUE_CAP,
    _VALUE_RUNS,
    GENERIC,
    Span,
    _bound,
    _rx,
)
from .plausibility import (
    _NAME_RUN,
    _PLACEHOLDER,
    _PROSE_AFTER,
    _REFERENCE,
    _SCHEME_BEFORE,
    _URL_PLACEHOLDER,
    _name_start,
    _plausible,
    _trim_unquoted,
)


@dataclass(frozen=True)
class Finding:
    """Where a secret is in a text and what kind it is; never the value itself."""

    kind: str
    start: int
    end: int


Handler = Callable[[bytes, bytes, int, list, "_Fired"], None]  # (text, lowered, position, spans, fired hints)

# --------------------------------------------------------------------------------------------
# Alternatives: what an anchor's pass looks for
# --------------------------------------------------------------------------------------------


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
            if i >= 4 and low[i - 4 : i] == b"aws_" and (s := _AWS_SECRET.match(b, i - 4)):
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
_SHAPE = (
    r"""(?:[a-z0-9_.\-]{0,80}(?:\\*["'\]])?[ \t]*[=:]|["'\]]? +["']?[a-z0-9_\-/+]{24}"""
    r"""|.{0,20}?["'][0-9a-z/+]{40}["'])"""
)
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
    _hint("JwtTokenDetector", "J", r"(?<=eyJ)(?=[A-Za-z0-9_=\-]{1,1000}\.)"),
    _hint("OpenAIDetector", "J", "(?<=T3BlbkFJ)"),
    # `-`
    _token("anthropic_key", "sk", "-", r"ant-[A-Za-z0-9_\-]{20,}"),
    _token("openai_key", "sk", "-", r"(?:proj-|svcacct-|admin-)?(?=[A-Za-z_\-]{0,200}[0-9])[A-Za-z0-9_\-]{20,}"),
    _token("slack_token", "xox[abposr]", "-", r"[A-Za-z0-9\-]{10,}"),
    # A private key through its END line; if that was cut off, through the base64 body that follows.
    _Alt(
        "-",
        r"----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]{0,50000}?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        r"|(?:\\[nr]|[A-Za-z0-9+/=\s:,._\-])*)",
        "private_key",
        guard="(?=-)",
    ),
    _hint("SlackDetector", "-", "(?<=[xX][oO][xX][aAbBpPoOsSrR]-)", guard="(?<=[aAbBpPoOsSrR]-)"),
    _hint("SquareOAuthDetector", "-", "(?<=sq0csp-)", guard="(?<=[aAbBpPoOsSrR]-)"),
    _hint("MailchimpDetector", "-", "(?<=[0-9a-z]{32}-)", guard="(?=us[0-9])"),
    _hint(
        "GitLabTokenDetector",
        "-",
        "(?<=gl(?:pat|cbt|imt|ptt|oas)-)|(?<=gl[dfr]t-)|(?<=glsoat-)|(?<=glagent-)",
        guard="(?<=[ts]-)",
    ),
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
# The passes: one per anchor
# --------------------------------------------------------------------------------------------


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
