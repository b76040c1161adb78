"""The real stack through a recording HTTP proxy (issue 18 item 10): API calls, an object's
upload and download (moto as S3) and ``tcdyn.load`` go through the proxy named by
``HTTP_PROXY``, sync and async; Hawk goes only to the rootUrl, the proxy's credentials only
to the proxy."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from real_helpers import PROJECT, aw, slug

import tcdyn
from proxying import RecordingProxy
from tcdyn import utils

PASSWORD = "real-proxy-password-never-shown"


@pytest.fixture
def proxy(monkeypatch):
    with RecordingProxy(("tcdyn", PASSWORD)) as recording:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
            monkeypatch.delenv(name.lower(), raising=False)
        monkeypatch.setenv("HTTP_PROXY", recording.url)
        yield recording


async def test_the_stack_through_a_proxy(make, root, root_url, flavour, proxy, caplog):
    caplog.set_level("DEBUG")
    upload = tcdyn.aio.upload if flavour == "async" else tcdyn.upload
    download = tcdyn.aio.download if flavour == "async" else tcdyn.download
    obj = make("Object", credentials=root)
    auth = make("Auth", credentials=root)
    name, data = f"tcdyn-real/proxy/{slug()}", os.urandom(20_000)
    await aw(upload.uploadFromBuf(projectId=PROJECT, name=name, contentType="a/b",
                                  contentLength=len(data), expires=utils.fromNowJSON("1 day"),
                                  objectService=obj, data=data))
    got, _ = await aw(download.downloadToBuf(name=name, objectService=obj))
    assert bytes(got) == data
    assert "*" in await aw(auth.current_scopes(refresh=True))
    if flavour == "sync":
        assert tcdyn.load(root_url, refresh=True).Queue.serviceName == "queue"
    stack = urlsplit(root_url).netloc
    hosts = {p.host for p in proxy.passed}
    assert stack in hosts and len(hosts) >= 2  # the deployment and the storage host
    for passed in proxy.passed:
        assert passed.headers["proxy-authorization"].startswith("Basic ")
        if passed.host != stack:
            assert "authorization" not in passed.headers, passed
    assert {p.method for p in proxy.passed} >= {"GET", "PUT", "POST"}
    assert PASSWORD not in caplog.text
