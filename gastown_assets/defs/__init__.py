"""Dagster wiring only: partitions, resources and assets around the pure domain packages."""
