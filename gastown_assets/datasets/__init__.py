"""Sessions -> chat rows: render, chunk to the token budget, split by session (pure Python)."""
