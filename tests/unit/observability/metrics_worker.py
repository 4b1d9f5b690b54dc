"""One gateway worker's share of metrics, for the multiprocess test: run as a script, never imported.

`python metrics_worker.py COUNT STATUS close|crash`: observes COUNT requests with STATUS into the
directory named by PROMETHEUS_MULTIPROC_DIR, leaves one request in flight, prints `ready` and waits
for a line on stdin; then exits, calling `Metrics.close()` first only with `close` (as a worker's
lifespan shutdown would; `crash` stands for a worker killed before it could).
"""

from __future__ import annotations

import sys

from llmrelay.config.metrics_env import multiprocess_dir
from llmrelay.observability.metrics import AllowedLabels, Metrics
from llmrelay.pipeline.context import RequestRecord


def main(count: int, status: int, close: bool) -> None:
    allowed = AllowedLabels(models={"m"}, providers={"p"}, deployments={"d"})
    metrics = Metrics(allowed, multiprocess_dir=multiprocess_dir())
    metrics.request_started()
    metrics.request_started()
    metrics.request_ended()
    for _ in range(count):
        record = RequestRecord("req_1")
        record.model, record.provider, record.upstream_model = "m", "p", "d"
        record.usage = {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
        metrics.observe(record, status=status, latency=0.5, upstream=0.35, cost_usd=0.25)
    metrics.inc_retry(model="m", provider="p", deployment="d", reason="rate_limited")
    print("ready", flush=True)
    sys.stdin.readline()
    if close:
        metrics.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "close")
