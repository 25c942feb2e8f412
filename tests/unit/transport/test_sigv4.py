"""SigV4 parity: dyntable's signer against botocore's ``SigV4Auth`` for the same request."""

from __future__ import annotations

import datetime
import hashlib
import hmac
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from dyntable._internal.transport.sigv4 import (
    EMPTY_SHA256,
    JsonSigner,
    SigningCredentials,
    amz_date,
    sign_request,
    signing_key,
)

WHEN = datetime.datetime(2026, 11, 26, 23, 31, 6)
TIMESTAMP = "20261126T233106Z"
JSON = "application/x-amz-json-1.0"


def botocore_sign(
    url: str,
    body: bytes,
    headers: dict[str, str],
    creds: SigningCredentials,
    region: str,
    *,
    method: str = "POST",
    service: str = "dynamodb",
    when: datetime.datetime = WHEN,
) -> dict[str, str]:
    """Sign with botocore at a frozen time; return the headers it produced."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    auth = SigV4Auth(
        BotocoreCredentials(creds.access_key, creds.secret_key, creds.token), service, region
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        auth.add_auth(request)
    return dict(request.headers.items())


def json_headers(target: str) -> dict[str, str]:
    return {"X-Amz-Target": f"DynamoDB_20120810.{target}", "Content-Type": JSON}


def json_sign(
    host: str, region: str, target: str, body: bytes, creds: SigningCredentials
) -> dict[str, str]:
    """Sign with JsonSigner and return the headers a request would carry."""
    date, auth = JsonSigner(host, region).sign(
        f"DynamoDB_20120810.{target}", body, creds, TIMESTAMP
    )
    out = {**json_headers(target), "X-Amz-Date": date}
    if creds.token:
        out["X-Amz-Security-Token"] = creds.token
    out["Authorization"] = auth
    return out


CREDS = SigningCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
TEMP = SigningCredentials("ASIAEXAMPLE", "secret/with+chars=", "IQoJb3JpZ2luX2VjE//token==")


@pytest.mark.parametrize("creds", [CREDS, TEMP], ids=["static", "session-token"])
@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("us-east-1", "dynamodb.us-east-1.amazonaws.com"),
        ("eu-west-1", "dynamodb.eu-west-1.amazonaws.com"),
        ("cn-north-1", "dynamodb.cn-north-1.amazonaws.com.cn"),
        ("us-gov-west-1", "dynamodb.us-gov-west-1.amazonaws.com"),
    ],
)
@pytest.mark.parametrize("target", ["PutItem", "Query", "TransactWriteItems", "DescribeTable"])
def test_json_signer_matches_botocore(
    creds: SigningCredentials, region: str, host: str, target: str
) -> None:
    body = b'{"TableName":"t","Item":{"PK":{"S":"USER#1"}}}'
    expected = botocore_sign(f"https://{host}/", body, json_headers(target), creds, region)
    assert json_sign(host, region, target, body, creds) == expected


def test_session_token_is_sent_and_signed() -> None:
    headers = json_sign("dynamodb.us-east-1.amazonaws.com", "us-east-1", "GetItem", b"{}", TEMP)
    assert headers["X-Amz-Security-Token"] == TEMP.token
    assert "x-amz-security-token" in headers["Authorization"]
    assert "x-amz-content-sha256" not in {k.lower() for k in headers}


def test_non_ascii_utf8_body() -> None:
    body = '{"Item":{"name":{"S":"Ada Lovelace \u2013 数学者 🚀"}}}'.encode()
    expected = botocore_sign(
        "https://dynamodb.ap-northeast-1.amazonaws.com/",
        body,
        json_headers("PutItem"),
        CREDS,
        "ap-northeast-1",
    )
    got = json_sign(
        "dynamodb.ap-northeast-1.amazonaws.com", "ap-northeast-1", "PutItem", body, CREDS
    )
    assert got == expected


def test_local_endpoint_with_port_signs_host_with_port() -> None:
    body = b"{}"
    expected = botocore_sign(
        "http://127.0.0.1:8765/", body, json_headers("ListTables"), CREDS, "us-east-1"
    )
    assert json_sign("127.0.0.1:8765", "us-east-1", "ListTables", body, CREDS) == expected


def test_aws_published_vector_get_vanilla() -> None:
    """The ``get-vanilla`` case of AWS's SigV4 test suite (independent of botocore)."""
    headers = sign_request(
        "GET",
        "https://example.amazonaws.com/",
        {},
        b"",
        credentials=CREDS,
        region="us-east-1",
        service="service",
        timestamp="20150830T123600Z",
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


@pytest.mark.parametrize(
    ("method", "url", "headers"),
    [
        ("POST", "https://dynamodb.us-east-1.amazonaws.com/", json_headers("PutItem")),
        ("GET", "https://svc.example.com/a/./b/../c//d/?b=2&a=1&a=0", {"X-Custom": "  x   y "}),
        ("PUT", "http://localhost:8000/path with space/", {"User-Agent": "ua", "Expect": "1"}),
        ("GET", "https://[::1]:8443/", {"Host": "override.example.com"}),
        ("DELETE", "https://svc.example.com:443/x/", {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}),
    ],
)
@pytest.mark.parametrize("creds", [CREDS, TEMP], ids=["static", "session-token"])
def test_sign_request_matches_botocore(
    method: str, url: str, headers: dict[str, str], creds: SigningCredentials
) -> None:
    body = b"payload \xe2\x9c\x93"
    expected = botocore_sign(
        url, body, headers, creds, "eu-central-1", method=method, service="svc"
    )
    got = sign_request(
        method,
        url,
        headers,
        body,
        credentials=creds,
        region="eu-central-1",
        service="svc",
        timestamp=TIMESTAMP,
    )
    assert got == expected


def test_sign_request_replaces_stale_auth_headers() -> None:
    stale = {**json_headers("PutItem"), "Authorization": "old", "X-Amz-Date": "19700101T000000Z"}
    url = "https://dynamodb.us-east-1.amazonaws.com/"
    expected = botocore_sign(url, b"{}", stale, TEMP, "us-east-1")
    got = sign_request(
        "POST",
        url,
        stale,
        b"{}",
        credentials=TEMP,
        region="us-east-1",
        service="dynamodb",
        timestamp=TIMESTAMP,
    )
    assert got == expected


def test_signing_key_is_cached() -> None:
    signing_key.cache_clear()
    signer = JsonSigner("dynamodb.us-east-1.amazonaws.com", "us-east-1")
    for target in ("A", "B", "C"):
        signer.sign(target, b"{}", CREDS, TIMESTAMP)
    info = signing_key.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    signer.sign("A", b"{}", CREDS, "20261127T000001Z")  # a new day derives a new key
    assert signing_key.cache_info().misses == 2


def test_signing_key_derivation() -> None:
    def step(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    expected = step(
        step(step(step(b"AWS4secret", "20261126"), "us-east-1"), "dynamodb"), "aws4_request"
    )
    assert signing_key("secret", "20261126", "us-east-1", "dynamodb") == expected


def test_amz_date_and_empty_hash() -> None:
    assert amz_date(0) == "19700101T000000Z"
    assert amz_date(1_764_199_866.9) == "20251126T233106Z"
    assert hashlib.sha256(b"").hexdigest() == EMPTY_SHA256


def test_credentials_repr_hides_secret() -> None:
    assert "wJalr" not in repr(CREDS)
    assert "token" not in repr(TEMP)


regions = st.from_regex(r"\A(us|eu|ap|sa|ca|me|af|il|cn|us-gov)-[a-z]{4,9}-[1-9]\Z")
keys = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)
secrets = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=60)
tokens = st.none() | st.text(
    st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=80
)
targets = st.sampled_from(["PutItem", "GetItem", "Query", "Scan", "BatchWriteItem", "UpdateItem"])
times = st.datetimes(datetime.datetime(2000, 1, 1), datetime.datetime(2099, 12, 31))


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=2048),
    access=keys,
    secret=secrets,
    token=tokens,
    region=regions,
    target=targets,
    when=times,
)
def test_property_matches_botocore(
    body: bytes,
    access: str,
    secret: str,
    token: str | None,
    region: str,
    target: str,
    when: datetime.datetime,
) -> None:
    when = when.replace(microsecond=0)
    creds = SigningCredentials(access, secret, token)
    host = f"dynamodb.{region}.amazonaws.com"
    expected = botocore_sign(
        f"https://{host}/", body, json_headers(target), creds, region, when=when
    )
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    date, auth = JsonSigner(host, region).sign(f"DynamoDB_20120810.{target}", body, creds, stamp)
    assert date == expected["X-Amz-Date"]
    assert auth == expected["Authorization"]
    assert expected.get("X-Amz-Security-Token") == token
