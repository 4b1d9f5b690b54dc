"""Inbound dialects: pure translation between a client-facing API that is not Chat Completions (the
Responses API, Anthropic's Messages) and the OpenAI chat shapes the relay runs on. No I/O, like providers/."""
