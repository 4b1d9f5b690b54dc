"""RetryPolicy: what is retried or falls back, backoff with jitter, retry-after in every form, the cap."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from llmrelay.errors import (
    InvalidRequestError,
    RateLimitError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)
from llmrelay.transport.retry import RetryPolicy

NOW = 1_750_000_000.0


def upstream(status: int, **headers: str) -> UpstreamStatusError:
    return UpstreamStatusError(status, f"HTTP {status}", headers={k.replace("_", "-"): v for k, v in headers.items()})


def policy(**changes: object) -> RetryPolicy:
    base = RetryPolicy(jitter=0.0, rng=random.Random(0), clock=lambda: NOW)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 529, 599])
def test_transient_statuses_are_retried(status: int) -> None:
    assert policy().should_retry(upstream(status))
    assert policy().should_fall_back(upstream(status))


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 413, 422])
def test_other_4xx_are_never_retried_nor_fall_back(status: int) -> None:
    assert not policy().should_retry(upstream(status))
    assert not policy().should_fall_back(upstream(status))


@pytest.mark.parametrize(
    "error",
    [
        UpstreamUnreachableError("refused"),
        UpstreamTimeoutError("no first byte in time"),
        UpstreamProtocolError("closed before the response was complete"),
    ],
)
def test_no_answer_before_the_first_byte_is_retried(error: Exception) -> None:
    assert policy().should_retry(error)
    assert policy().should_fall_back(error)


@pytest.mark.parametrize(
    "error",
    [InvalidRequestError("bad"), RateLimitError("our own limit"), ValueError("a bug"), KeyboardInterrupt()],
)
def test_errors_that_are_not_the_upstreams_are_left_alone(error: BaseException) -> None:
    assert not policy().should_retry(error)
    assert not policy().should_fall_back(error)


@pytest.mark.parametrize("name", ["x-should-retry", "X-Should-Retry"])
def test_x_should_retry_false_stops_retries_but_not_fallback(name: str) -> None:
    error = UpstreamStatusError(429, "daily quota", headers={name: " False "})
    assert not policy().should_retry(error)
    assert policy().should_fall_back(error)
    assert policy().should_retry(UpstreamStatusError(429, "x", headers={name: "true"}))


def test_backoff_doubles_up_to_the_maximum_without_jitter() -> None:
    p = policy(base_backoff=0.5, max_backoff=4.0)
    assert [p.delay(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert p.delay(10_000) == 4.0  # no overflow however many retries


def test_jitter_takes_off_at_most_its_share_and_is_repeatable_with_a_seed() -> None:
    one = policy(jitter=0.25, rng=random.Random(42))
    two = policy(jitter=0.25, rng=random.Random(42))
    delays = [one.delay(2) for _ in range(500)]
    assert delays == [two.delay(2) for _ in range(500)]
    assert all(1.5 <= d <= 2.0 for d in delays)
    assert max(delays) - min(delays) > 0.4  # the whole range is used


def test_default_policies_do_not_share_a_random_state() -> None:
    a, b = RetryPolicy(), RetryPolicy()
    assert a.rng is not b.rng
    assert a == b  # the generator is not part of the value


def test_retry_after_seconds_is_honoured() -> None:
    assert policy().delay(0, upstream(429, retry_after="3")) == 3.0
    assert policy().delay(5, upstream(503, retry_after="0.25")) == 0.25


def test_retry_after_ms_wins_over_retry_after() -> None:
    error = upstream(429, retry_after="3", retry_after_ms="1500")
    assert policy().delay(0, error) == 1.5
    assert policy().retry_after(error) == 1.5


def test_retry_after_as_an_http_date() -> None:
    when = format_datetime(datetime.fromtimestamp(NOW + 7, UTC), usegmt=True)
    assert policy().delay(0, upstream(503, retry_after=when)) == pytest.approx(7.0)
    past = format_datetime(datetime.fromtimestamp(NOW - 30, UTC), usegmt=True)
    assert policy().delay(0, upstream(503, retry_after=past)) == 0.0


def test_a_zone_less_http_date_is_read_as_gmt() -> None:
    when = datetime.fromtimestamp(NOW + 5, UTC).strftime("%a, %d %b %Y %H:%M:%S")
    assert policy().retry_after(upstream(503, retry_after=when)) == pytest.approx(5.0)


def test_retry_after_is_capped_and_a_longer_one_moves_on() -> None:
    p = policy(retry_after_cap=10.0)
    long = upstream(429, retry_after="3600")
    assert p.delay(0, long) == 10.0
    assert not p.should_retry(long)
    assert p.should_fall_back(long)
    assert p.should_retry(upstream(429, retry_after="10"))


@pytest.mark.parametrize("value", ["soon", "", "nan", "inf", "Thu, 99 Foo 2099"])
def test_unreadable_retry_after_falls_back_to_backoff(value: str) -> None:
    assert policy().delay(1, upstream(503, retry_after=value)) == 1.0


def test_negative_retry_after_means_now() -> None:
    assert policy().delay(0, upstream(429, retry_after="-4")) == 0.0
    assert policy().delay(0, upstream(429, retry_after_ms="-4")) == 0.0


def test_errors_without_headers_use_backoff() -> None:
    assert policy().delay(1, UpstreamTimeoutError("slow")) == 1.0
    assert policy().delay(1, ValueError("not an upstream error")) == 1.0


@pytest.mark.parametrize(
    "changes",
    [
        {"max_retries": -1},
        {"base_backoff": -0.1},
        {"base_backoff": 10.0, "max_backoff": 1.0},
        {"jitter": 1.5},
        {"retry_after_cap": -1.0},
    ],
)
def test_nonsense_is_refused(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (each message is different; the refusal is the point)
        RetryPolicy(**changes)  # type: ignore[arg-type]


def test_the_policy_is_a_frozen_value() -> None:
    p = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.max_retries = 5  # type: ignore[misc]
    assert dataclasses.replace(p, max_retries=5).max_retries == 5
    assert RetryPolicy().max_retries == 2
