"""The loopback storage host of ``tcdyn.testing.objects`` takes only presigned requests, as S3
does for the URLs the v106 object service and queue issue (AWS Signature Version 4, query
form): unsigned, tampered, expired or other-method requests are refused (issue 18 item 14)."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tcdyn.testing.objects import Storage, sigv4_signature


def test_the_signature_is_aws_sigv4():
    # AWS's worked example of a presigned GET ("Authenticating Requests: Using Query
    # Parameters (AWS Signature Version 4)", Amazon S3 API Reference)
    query = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256",
             "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
             "X-Amz-Date": "20130524T000000Z", "X-Amz-Expires": "86400",
             "X-Amz-SignedHeaders": "host"}
    signature = sigv4_signature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "GET", "/test.txt",
                                query, {"host": "examplebucket.s3.amazonaws.com"})
    assert signature == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"


@pytest.fixture
def storage():
    with Storage() as s:
        s.objects["k"] = (b"original", "text/plain")
        yield s


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


def test_signed_get_works_and_unsigned_or_tampered_is_refused(storage):
    url = storage.url("k")
    assert httpx.get(url).content == b"original"
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" and query["X-Amz-Expires"] == "120"
    unsigned = httpx.get(_without_query(url))
    assert unsigned.status_code == 403 and b"AccessDenied" in unsigned.content
    tampered = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    refused = httpx.get(tampered)
    assert refused.status_code == 403 and b"SignatureDoesNotMatch" in refused.content
    other_key = url.replace("/bucket/k?", "/bucket/x?")
    assert httpx.get(other_key).status_code == 403


def test_a_put_needs_a_put_url_with_its_signed_headers(storage):
    for url in (_without_query(storage.url("k")), storage.url("k")):  # unsigned; a GET URL
        assert httpx.put(url, content=b"overwritten").status_code == 403
    assert storage.objects["k"][0] == b"original"
    put = storage.url("k", "PUT", headers={"Content-Type": "text/plain"})
    wrong = httpx.put(put, content=b"new", headers={"Content-Type": "text/html"})
    assert wrong.status_code == 403 and storage.objects["k"][0] == b"original"
    assert httpx.put(put, content=b"new", headers={"Content-Type": "text/plain"}
                     ).status_code == 200
    assert storage.objects["k"][0] == b"new"


def test_an_expired_url_is_refused(storage):
    url = storage.url("k", expires_in=1)
    time.sleep(1.1)
    expired = httpx.get(url)
    assert expired.status_code == 403 and b"Request has expired" in expired.content
