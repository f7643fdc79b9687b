"""configs/ as typed models, split by concern: files (YAML, merging, `{data_dir}`), role, dataset,
retrain, eval, serving, profile, axolotl (checked against Axolotl's input model), and project
(one run's typed view of it all). Imports no Dagster and nothing above transcripts.roles."""

from gastown_assets.config.axolotl import RUN_KEYS, ResolvedConfig
from gastown_assets.config.dataset import DatasetSpec
from gastown_assets.config.eval import EvalSpec
from gastown_assets.config.files import ConfigError, merge
from gastown_assets.config.profile import GgufModel, GpuSpec, ModelShape, Profile, TinyModel
from gastown_assets.config.project import Project, role_names
from gastown_assets.config.retrain import RetrainSpec
from gastown_assets.config.role import ROLE_NAME, Role
from gastown_assets.config.serving import VLLM_LORA_RANKS, ServingSpec

__all__ = [
    "ROLE_NAME",
    "RUN_KEYS",
    "VLLM_LORA_RANKS",
    "ConfigError",
    "DatasetSpec",
    "EvalSpec",
    "GgufModel",
    "GpuSpec",
    "ModelShape",
    "Profile",
    "Project",
    "ResolvedConfig",
    "RetrainSpec",
    "Role",
    "ServingSpec",
    "TinyModel",
    "merge",
    "role_names",
]
