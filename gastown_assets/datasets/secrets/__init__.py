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

Layout, by job (each module imports only the ones above it):

* `patterns`: regex building blocks, the keyword tables, the regexes of the handlers and hints;
* `plausibility`: is an assignment's value a secret (placeholders, references, code)?
* `detectors`: detect-secrets' plugins (loaded lazily), their hints' windows and spans;
* `scanner`: `Finding`, the alternatives (`_Alt`) by anchor and their handlers, the passes over
  a text;
* `redactor`: `Redactor` and `Removed`;
* `rows`: `redact_row`, `scan_row` and the walkers over a row's strings.
"""

from __future__ import annotations

from .detectors import _plugins
from .patterns import GENERIC, REDACTED
from .redactor import Redactor, Removed
from .rows import redact_row, scan_row
from .scanner import Finding

__all__ = ["GENERIC", "PLUGIN_NAMES", "REDACTED", "Finding", "Redactor", "Removed", "redact_row", "scan_row"]


def __getattr__(name: str):
    if name == "PLUGIN_NAMES":  # the plugins this detect-secrets ships (importing it)
        return tuple(_plugins())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
