"""A stage's metadata (gastown_assets/meta.py values) as Dagster metadata."""

import dagster as dg

from gastown_assets.meta import Json, Markdown, PathRef


def to_dagster(metadata: dict) -> dict:
    return {key: _value(v) for key, v in metadata.items()}


def _value(value):
    if isinstance(value, Markdown):
        return dg.MetadataValue.md(str(value))
    if isinstance(value, PathRef):
        return dg.MetadataValue.path(str(value))
    if isinstance(value, Json):
        return dg.MetadataValue.json(value.value)
    return value
