"""The `serving` section of base.yml: how the role adapters are served (gastown_assets/serving)."""

from __future__ import annotations

from pydantic import field_validator

from gastown_assets.config.files import Strict

# The ranks vLLM's --max-lora-rank accepts (its LoRAConfig.max_lora_rank literal).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


class ServingSpec(Strict):
    """adapter_servable fails an adapter whose LoRA rank exceeds max_lora_rank (vLLM's default, 16)."""

    max_lora_rank: int = 16

    @field_validator("max_lora_rank")
    @classmethod
    def _vllm_accepts(cls, rank: int) -> int:
        if rank not in VLLM_LORA_RANKS:
            raise ValueError(f"{rank} is not a rank vLLM's --max-lora-rank accepts: {list(VLLM_LORA_RANKS)}")
        return rank
