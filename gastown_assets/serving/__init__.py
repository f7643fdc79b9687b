"""Serving the role adapters (pure Python, no Dagster): is an adapter servable (servable.py), the
fleet manifest and vLLM's launch line (manifest.py), and a local OpenAI-compatible endpoint that
serves the base and every promoted role adapter on one loaded base (engine.py, app.py)."""
