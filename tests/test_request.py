"""The sans-IO part of a call: argument encoding, retry policy and the retry loop."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tcdyn
from tcdyn.call.bind import Call, encode_segment
from tcdyn.call.options import RetryPolicy
from tcdyn.call.response import InvalidResponse, Received
from tcdyn.call.retry import SEND, Sleep, retry_flow

ENTRY = tcdyn.Queue._model.entries["getLatestArtifact"]
CALL = Call("queue", "task", "GET", "http://x/api/queue/v1/task/t", None, None)


@given(st.text(min_size=1))
def test_any_argument_stays_one_segment_and_round_trips(value):
    segment = encode_segment(ENTRY, "taskId", value)
    url = httpx.URL(f"https://tc.example.com/api/queue/v1/task/{segment}/artifacts/x")
    path = url.raw_path.decode()
    assert path.startswith("/api/queue/v1/task/") and path.endswith("/artifacts/x")
    middle = path[len("/api/queue/v1/task/"):-len("/artifacts/x")]
    assert "/" not in middle and unquote(middle) == value


def test_delays_follow_the_official_backoff():
    policy = RetryPolicy()
    for retry in range(1, 12):
        base = 0.1 * 2 ** (retry - 1)
        for _ in range(50):
            delay = policy.delay(retry)
            assert min(base * 0.75, 30) <= delay <= min(base * 1.25, 30)
    assert RetryPolicy(max_delay=2).delay(10) == 2
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


def _drive(flow, outcomes):
    """Feed ``outcomes`` to a retry flow; return (result or exception, sleeps, sends)."""
    sleeps, sends = [], 0
    step = next(flow)
    try:
        while True:
            if step is SEND:
                sends += 1
                step = flow.send(outcomes.pop(0))
            else:
                assert isinstance(step, Sleep)
                sleeps.append(step.seconds)
                step = flow.send(None)
    except StopIteration as done:
        return done.value, sleeps, sends
    except Exception as exc:
        return exc, sleeps, sends


def ok(status=200, body=b'{"a": 1}', headers=None):
    return Received(status, headers or {}, body, "http://x")


def test_retry_loop_decisions():
    policy = RetryPolicy(max_retries=3)
    assert _drive(retry_flow(CALL, policy), [ok(500), ok(502), ok()])[0] == {"a": 1}
    exc, sleeps, sends = _drive(retry_flow(CALL, policy), [ok(500)] * 4)
    assert isinstance(exc, tcdyn.TaskclusterRestFailure) and exc.attempts == 4
    assert sends == 4 and len(sleeps) == 3
    exc, _, sends = _drive(retry_flow(CALL, policy), [ok(404, b'{"code":"ResourceNotFound"}')])
    assert isinstance(exc, tcdyn.ResourceNotFound) and sends == 1
    result, sleeps, _ = _drive(retry_flow(CALL, policy),
                               [ok(429, b"", {"retry-after": "2"}), ok()])
    assert result == {"a": 1} and sleeps == [2.0]
    exc, _, sends = _drive(retry_flow(CALL, policy), [ok(429, b"", {"retry-after": "3600"})])
    assert isinstance(exc, tcdyn.TaskclusterRestFailure) and sends == 1
    boom = httpx.ConnectError("refused")
    exc, sleeps, sends = _drive(retry_flow(CALL, policy), [boom] * 4)
    assert isinstance(exc, tcdyn.TaskclusterConnectionError) and exc.superExc is boom
    assert _drive(retry_flow(CALL, policy), [ok(204, b"")])[0] is None
    exc = _drive(retry_flow(CALL, policy), [ok(200, b"plain")])[0]
    assert isinstance(exc, InvalidResponse) and "not JSON" in str(exc)


def test_clock_skew_hint_on_stale_timestamp():
    exc, _, _ = _drive(retry_flow(CALL, RetryPolicy()),
                       [ok(401, b'{"code":"AuthenticationFailed","message":"Stale timestamp"}')])
    assert isinstance(exc, tcdyn.TaskclusterAuthFailure) and "check this machine's clock" \
        in exc.message
