"""The official client's tests that call a real deployment (``harness.REAL``: credentials,
temporary credentials, authorizedScopes and signed URLs against ``auth.testAuthenticate``;
uploads and downloads through the object service, with the stack's credentials),
run against the real v106 services, with tcdyn and with the official client alike."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "official"))
import harness


@pytest.mark.parametrize("target", ["tcdyn", "taskcluster"])
def test_the_official_real_tests_pass(target, stack):
    credentials = {"clientId": stack["TASKCLUSTER_CLIENT_ID"],
                   "accessToken": stack["TASKCLUSTER_ACCESS_TOKEN"]}
    outcomes = harness.run(target, stack["TASKCLUSTER_ROOT_URL"], credentials)
    ran = {t: o for t, o in outcomes.items() if o.outcome != "deselected"}
    assert set(ran) == set(harness.REAL)
    failed = {t: harness.first_line(o.text) for t, o in ran.items() if o.outcome != "passed"}
    assert not failed, failed
