"""Shipped model files; installed as the package `live.models` (see pyproject.toml)."""
