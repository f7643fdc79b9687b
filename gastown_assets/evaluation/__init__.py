"""Judge an adapter: held-out loss of base vs base+adapter, rendered as a report (pure Python)."""
