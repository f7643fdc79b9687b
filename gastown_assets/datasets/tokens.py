"""Count tokens as the base model sees them: its chat template, then its tokenizer.

Uses the Rust `tokenizers` library and jinja2 directly (the same sandboxed environment
transformers renders chat templates in) instead of transformers' AutoTokenizer, whose import
pulls in torch: the dataset build stays light (well under 500 MB RSS) and starts fast.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from gastown_assets.datasets.chunk import CountTokens


def _environment():
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    dict_attributes = frozenset(dir(dict))

    class Environment(ImmutableSandboxedEnvironment):
        """`message.role` on a plain dict without the sandbox's detour: getattr(dict, "role")
        raising AttributeError before the item is looked up (a third of a render). The same
        answer: an item, unless dict has such an attribute (then the sandbox decides)."""

        def getattr(self, obj, attribute):
            if type(obj) is dict and attribute not in dict_attributes:
                try:
                    return obj[attribute]
                except (KeyError, TypeError):
                    pass
            return super().getattr(obj, attribute)

    env = Environment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(
        x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env


def model_files(name_or_path: str) -> Path:
    """A local model folder, or the hub cache's copy of a hub id (never downloaded here)."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download

    return Path(
        snapshot_download(name_or_path, allow_patterns=["tokenizer*", "*.jinja", "*.json"], local_files_only=True)
    )


def chat_template_of(model_dir: Path) -> str:
    template_file = model_dir / "chat_template.jinja"
    if template_file.is_file():
        return template_file.read_text(encoding="utf-8")
    config = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    template = config.get("chat_template")
    if not isinstance(template, str):
        raise ValueError(f"{model_dir / 'tokenizer_config.json'}: chat_template: missing (a single template is needed)")
    return template


def as_trained(messages: list[dict]) -> list[dict]:
    """Rows keep tool-call arguments as JSON strings; Axolotl parses them into mappings before
    rendering (so templates print them with their own spacing), and so do we."""
    out = []
    for m in messages:
        calls = m.get("tool_calls")
        if calls and any(isinstance(c["function"]["arguments"], str) for c in calls):
            calls = [
                {**c, "function": {**c["function"], "arguments": json.loads(c["function"]["arguments"])}} for c in calls
            ]
            m = {**m, "tool_calls": calls}
        out.append(m)
    return out


class ChatTokenCounter:
    """CountTokens for a model: its chat template, then its tokenizer. Pickles as its model's
    name, so the dataset build's worker processes load their own."""

    def __init__(self, name_or_path: str):
        from tokenizers import Tokenizer

        self.name_or_path = name_or_path
        model_dir = model_files(name_or_path)
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._template = _environment().from_string(chat_template_of(model_dir))
        # encode_batch_fast (tokenizers >= 0.21) skips the character offsets, which a count does not need
        self._encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)

    def __call__(self, conversations: list[list[dict]]) -> list[int]:
        texts = [self._template.render(messages=as_trained(c), add_generation_prompt=False) for c in conversations]
        return [len(e.ids) for e in self._encode(texts, add_special_tokens=False)]

    def __reduce__(self):
        return ChatTokenCounter, (self.name_or_path,)


def chat_token_counter(name_or_path: str) -> CountTokens:
    return ChatTokenCounter(name_or_path)
