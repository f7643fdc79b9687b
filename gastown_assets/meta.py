"""Typed values in a stage's metadata, without Dagster: defs/metadata.py turns each into its
Dagster MetadataValue (plain numbers, strings and bools pass as they are)."""

from __future__ import annotations

from dataclasses import dataclass


class Markdown(str):
    """Shown rendered in the UI (a table, a report, a YAML block)."""


class PathRef(str):
    """A file or object-store location, shown as a path."""


@dataclass(frozen=True)
class Json:
    """A mapping or list shown as JSON."""

    value: dict | list
