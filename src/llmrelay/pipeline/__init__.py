"""Per-request policy as small steps: auth → routing → relay (limits and accounting join later)."""
