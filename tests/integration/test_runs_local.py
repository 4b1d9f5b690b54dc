"""One short run on the keyless local model: a run executes on whatever model its assistant names, not
only OpenAI-compatible upstreams. `llmrelay serve` runs in a process of its own, as in test_local.py
(the default config serves the local model), so a failing native runtime cannot take pytest down."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from tests.process import clean_env, serving

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks the Assistants API deprecated

LOCAL = "local/smollm2-135m-instruct"


def test_a_run_on_the_local_model(tmp_path: Path) -> None:
    with (
        serving([], tmp_path, clean_env()) as (base, _),
        openai.OpenAI(base_url=f"{base}/v1", api_key="none", max_retries=0, timeout=60) as client,
    ):
        assistant = client.beta.assistants.create(model=LOCAL, instructions="You answer in one word.")
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "Name a colour."}]},
            max_completion_tokens=3, temperature=0, poll_interval_ms=50,
        )  # fmt: skip
        assert run.status in ("completed", "incomplete"), run.last_error
        assert run.usage is not None and 0 < run.usage.completion_tokens <= 3 and run.usage.prompt_tokens > 5
        reply = client.beta.threads.messages.list(run.thread_id, run_id=run.id).data[0]
        assert reply.role == "assistant" and reply.content[0].type == "text" and reply.content[0].text.value.strip()
