"""OpenAI wire shapes: TypedDicts for what llmrelay reads and writes (unknown keys are kept)."""
