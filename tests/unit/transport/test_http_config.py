"""Missing configuration surfaces as a typed, non-retryable dyntable error."""

from __future__ import annotations

import pytest

from dyntable.errors import ConfigurationError, DyntableError
from dyntable.transport.http import HttpTransport


def test_no_region_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: object) -> None:
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path) + "/missing-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path) + "/missing-credentials")
    with pytest.raises(ConfigurationError, match="no AWS region") as info:
        HttpTransport()
    assert isinstance(info.value, DyntableError) and not info.value.retryable


def test_bad_endpoint_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="http:// or https://"):
        HttpTransport(endpoint_url="ftp://example.invalid", region="us-east-1")
