"""One partition per role: the files in configs/roles/*.yml (GASTOWN_CONFIG_DIR's, if set)."""

import dagster as dg

from gastown_assets import settings
from gastown_assets.config import role_names

ROLES = dg.StaticPartitionsDefinition(role_names(settings.config_dir()))
