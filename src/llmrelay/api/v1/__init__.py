"""OpenAI's /v1 routes."""
