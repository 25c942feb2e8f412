"""benchmarks.stdlib_client: the hand-written reference client signs as botocore does, so
the benchmark's floor is a real, accepted request and not a shortcut."""

from __future__ import annotations

import datetime
import json

import pytest

from benchmarks.stdlib_client import StdlibClient

STAMP = "20260301T120000Z"
TARGET = "DynamoDB_20120810.GetItem"
BODY = json.dumps({"TableName": "t", "Key": {"PK": {"S": "a"}}}).encode()


def botocore_authorization(monkeypatch: pytest.MonkeyPatch, host: str) -> str:
    from botocore import auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    monkeypatch.setattr(auth, "get_current_datetime",
                        lambda: datetime.datetime(2026, 3, 1, 12, 0, 0))
    request = AWSRequest(method="POST", url=f"http://{host}/", data=BODY, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TARGET})
    auth.SigV4Auth(Credentials("AKIDEXAMPLE", "secret/key"), "dynamodb",
                   "eu-west-1").add_auth(request)
    return str(request.headers["Authorization"])


def test_signature_matches_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    client = StdlibClient("http://127.0.0.1:8765", "eu-west-1", "AKIDEXAMPLE", "secret/key")
    headers = client.headers(TARGET, BODY, STAMP)
    assert headers["X-Amz-Date"] == STAMP
    assert headers["Authorization"] == botocore_authorization(monkeypatch, "127.0.0.1:8765")


def test_signature_depends_on_body() -> None:
    client = StdlibClient("http://127.0.0.1:8765", "eu-west-1", "AKIDEXAMPLE", "secret/key")
    other = client.headers(TARGET, BODY + b" ", STAMP)["Authorization"]
    assert client.headers(TARGET, BODY, STAMP)["Authorization"] != other
