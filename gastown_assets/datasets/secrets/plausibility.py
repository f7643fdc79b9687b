"""Is an assignment's value a secret? The `_plausible` rules: placeholders, references and code
are kept; plus the handlers' helpers for where a name starts and where an unquoted value ends."""

from __future__ import annotations

import re

from .patterns import _SCHEME, _rx

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
_KEYWORDS_ANY_CASE = "|".join(
    f"{w}|{w.capitalize()}|{w.upper()}" for w in ("key", "token", "secret", "passw", "pwd", "auth", "credential")
)
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
    return (
        len(word) <= 3
        or word.islower()
        or word.isupper()
        or word.istitle()
        or _identifier(word)
        or bool(_ACRONYM_WORDS.fullmatch(word))
    )


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
        if call and (
            spaced
            or value[-1] in "([)]"
            or not call.group(1).isalpha()
            or _LOWER_UPPER.search(call.group(1))
            or call.group(1).islower()
        ):
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
