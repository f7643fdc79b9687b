"""Resolve Axolotl configs, build the tiny local base model, run Axolotl (pure Python, no Dagster)."""
