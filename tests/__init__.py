"""llmrelay test suite."""
