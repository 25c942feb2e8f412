"""Missing credentials against a local endpoint say that any dummy keys work (issue 12,
defect 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dyntable.errors import ConfigurationError
from dyntable.transport.credentials import (
    NoCredentialsFoundError,
    is_aws_endpoint,
    missing_credentials_error,
)
from dyntable.transport.http import HttpTransport

_CAUSE = NoCredentialsFoundError("no AWS credentials found (environment, shared files, ...)")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000",
     "http://dynamodb-local:8000", "https://ddb.internal.example.com"],
)
def test_local_or_custom_endpoint_says_any_dummy_keys_work(url: str) -> None:
    err = missing_credentials_error(_CAUSE, url)
    assert isinstance(err, ConfigurationError)
    text = str(err)
    assert text.startswith("cannot load AWS credentials: no AWS credentials found")
    assert f"{url} is not an AWS endpoint" in text
    assert "DynamoDB Local" in text and "accept any keys" in text
    assert "AWS_ACCESS_KEY_ID=dummy" in text and "AWS_SECRET_ACCESS_KEY=dummy" in text


@pytest.mark.parametrize(
    "url",
    ["https://dynamodb.us-east-1.amazonaws.com", "https://dynamodb.cn-north-1.amazonaws.com.cn",
     "https://dynamodb.eu-west-1.api.aws", "https://dynamodb-fips.us-east-2.amazonaws.com"],
)
def test_real_aws_endpoint_says_how_to_configure_credentials(url: str) -> None:
    assert is_aws_endpoint(url)
    text = str(missing_credentials_error(_CAUSE, url))
    assert "dummy" not in text
    assert "AWS_PROFILE" in text and "AWS_ACCESS_KEY_ID" in text


def test_lookalike_hosts_are_not_aws() -> None:
    assert not is_aws_endpoint("http://notamazonaws.com")
    assert not is_aws_endpoint("http://amazonaws.com.example.org:8000")


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nowhere for botocore's chain to find credentials (and no IMDS wait)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_http_transport_to_local_endpoint_without_credentials(no_credentials: None) -> None:
    transport = HttpTransport(endpoint_url="http://127.0.0.1:1", region="us-east-1")
    with pytest.raises(ConfigurationError) as info:
        transport.send("ListTables", {})
    assert "AWS_ACCESS_KEY_ID=dummy" in str(info.value)


def test_without_botocore_the_error_says_what_to_set(
    no_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Lambda bundle built without boto3/botocore (docs/lambda.md) and no credentials in
    # the environment: the message names the variables and the package, not an ImportError.
    import sys

    from dyntable.transport.credentials import _load_botocore_credentials

    monkeypatch.setitem(sys.modules, "botocore.session", None)
    with pytest.raises(NoCredentialsFoundError) as info:
        _load_botocore_credentials()
    text = str(info.value)
    assert "AWS_ACCESS_KEY_ID" in text and "install boto3" in text
