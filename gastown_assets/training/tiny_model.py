"""Build a tiny Qwen2 base model locally, with no hub access.

A byte-level BPE tokenizer trained with `tokenizers`, a ChatML chat template with tool calls,
and a small Qwen2 pretrained for a few hundred steps on generic text (Python's standard library
source, present wherever Python is). Enough for Axolotl and PEFT to run their real code paths on
a CPU in minutes, with a base that an adapter can visibly improve on.
"""

from __future__ import annotations

import sysconfig
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path

from gastown_assets.atomic import save_model
from gastown_assets.config import TinyModel

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (Path(__file__).parent / "chat_template.jinja").read_text(encoding="utf-8")
PRETRAIN_SEQ, PRETRAIN_BATCH, PRETRAIN_LR = 256, 8, 3e-3


def generic_texts(max_chars: int) -> Iterator[str]:
    """Python stdlib modules in name order, up to max_chars: generic code and English."""
    used = 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        if used >= max_chars:
            return
        text = path.read_text(encoding="utf-8", errors="replace")
        used += len(text)
        yield text


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=1 << 20,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def pretrain(model, tokenizer, texts: Iterable[str], steps: int, seed: int) -> float:
    """Plain causal-LM steps on random windows of the text; returns the last loss."""
    import torch

    ids: list[int] = []
    for text in texts:
        ids += tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.pad_token_id]
    windows = torch.tensor(ids[: len(ids) // PRETRAIN_SEQ * PRETRAIN_SEQ]).view(-1, PRETRAIN_SEQ)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=PRETRAIN_LR)
    model.train()
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        batch = windows[torch.randint(len(windows), (PRETRAIN_BATCH,), generator=gen)]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    return float(loss)


def build(
    spec: TinyModel,
    texts: Iterable[str],
    out_dir: Path,
    seed: int = 0,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Tokenizer (from `texts` + generic text) and pretrained model, written to out_dir atomically."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = train_tokenizer(chain(texts, generic_texts(spec.pretrain_chars)), spec.vocab_size)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        max_position_embeddings=spec.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    pretrain(model, tokenizer, generic_texts(spec.pretrain_chars), spec.pretrain_steps, seed)
    return save_model(model, tokenizer, out_dir, extra_files)
