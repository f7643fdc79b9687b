"""The local profile's base model: SmolLM2-135M-Instruct converted from the GGUF in its wheel."""

from pathlib import Path

import orjson

from gastown_assets.config import Project
from gastown_assets.training import gguf_model
from gastown_assets.training.base_model import resolve_base_model
from gastown_assets.training.tiny_model import CHAT_TEMPLATE
from tests.support import CONFIG_DIR


def test_converted_tokenizer_ends_turns_with_im_end_as_the_gguf_declares(smollm2):
    from transformers import AutoConfig, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2.name_or_path)
    end = tok.convert_tokens_to_ids("<|im_end|>")
    assert (tok.eos_token, tok.pad_token) == ("<|im_end|>", "<|im_end|>")
    assert tok.eos_token_id == tok.pad_token_id == end == 2
    config = AutoConfig.from_pretrained(smollm2.name_or_path)
    assert config.eos_token_id == config.pad_token_id == end
    assert tok.chat_template == CHAT_TEMPLATE  # the project's one format, not SmolLM2's own


def test_converted_model_is_the_real_instruct_model(smollm2):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2.name_or_path)
    model = AutoModelForCausalLM.from_pretrained(smollm2.name_or_path, dtype=torch.float32)
    assert 134_000_000 < sum(p.numel() for p in model.parameters()) < 135_000_000
    messages = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**ids, max_new_tokens=16, do_sample=False)
    reply = tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=False)
    assert "Paris" in reply and reply.rstrip().endswith("<|im_end|>")  # it answers and stops


def test_data_version_is_the_gguf_hash_plus_the_conversion_spec(smollm2):
    spec = Project(CONFIG_DIR, "local", Path("/data")).profile.gguf_model
    sha = gguf_model.file_sha256(gguf_model.gguf_path(spec, "local.yml"))
    assert smollm2.digest.startswith(sha[:12])
    other = gguf_model.data_version({**gguf_model.conversion_spec(spec, sha), "dtype": "bfloat16"})
    assert other.startswith(sha[:12]) and other != smollm2.digest


def test_an_unchanged_gguf_is_not_converted_again(smollm2):
    folder = Path(smollm2.name_or_path)
    weights = folder / "model.safetensors"
    before = weights.stat().st_mtime_ns
    again = resolve_base_model(Project(CONFIG_DIR, "local", folder.parent.parent))
    assert again == smollm2 and weights.stat().st_mtime_ns == before
    recorded = orjson.loads((folder / gguf_model.SPEC_FILE).read_bytes())
    assert recorded["eos_token"] == "<|im_end|>"


def test_a_missing_gguf_package_names_the_profile_and_key(tmp_path):
    import pytest

    from gastown_assets.config import ConfigError, GgufModel

    spec = GgufModel(package="no_such_model_wheel", file="x.gguf", path=str(tmp_path))
    with pytest.raises(
        ConfigError,
        match=r"profiles/local.yml: gguf_model: package 'no_such_model_wheel' "
        r"is not installed",
    ):
        gguf_model.gguf_path(spec, "configs/profiles/local.yml")
