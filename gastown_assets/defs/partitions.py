"""One partition per role: the files in configs/roles/*.yml."""

import dagster as dg

from gastown_assets.settings import Settings
from gastown_assets.training.config import role_names

ROLES = dg.StaticPartitionsDefinition(role_names(Settings.from_env().config_dir))
