"""dyntable's pytest plugin: DynamoDB Local for your integration tests. Opt-in.

Installing dyntable does not load it. Enable it in your ``conftest.py`` (the top-level
one)::

    pytest_plugins = ["dyntable.testing.pytest_plugin"]

or for one run with ``pytest -p dyntable.testing.pytest_plugin``.

Fixtures:
    dynamodb_endpoint (session): the endpoint integration tests talk to.
        ``$DYNTABLE_TEST_ENDPOINT`` when set; otherwise one DynamoDB Local started for
        the whole session (fetched into the user cache on first use). If DynamoDB
        Local cannot be started the tests fail, unless ``DYNTABLE_TEST_ALLOW_MOTO=1``,
        which runs them on moto and says so in the terminal summary.
    moto_endpoint (session): moto's in-process server, for quick unit checks.
    unique_table_name (function): a fresh table name, so tests can share one server.
    redis_url (session): a Redis URL for the Redis cache store's tests:
        ``$DYNTABLE_TEST_REDIS_URL`` when set; otherwise a ``redis-server`` started for
        the session on a free loopback port without persistence
        (:class:`~dyntable.testing.redis_server.RedisServer`; installed with apt-get as root
        on CI). Tests using it are skipped, saying why, when no ``redis-server`` can be had
        outside CI; on CI they fail instead.
    fake_aws_env (function): dummy credentials (``testing``) and, when none is set, the
        region ``us-east-1`` in the environment for this test only (see
        :func:`fake_aws_environment`).

Markers (only these two are acted upon):
    dyntable_aws: the test needs real AWS; skipped unless ``DYNTABLE_AWS_TESTS=1``.
    dyntable_dax: the test needs a DAX cluster; skipped unless ``DYNTABLE_DAX_ENDPOINT``
        is set.

Nothing else is changed: tests that use none of these fixtures and markers run as if the
plugin were not there. The terminal summary names the backend that served
``dynamodb_endpoint`` when a test used it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

__all__ = [
    "dynamodb_endpoint",
    "fake_aws_env",
    "fake_aws_environment",
    "moto_endpoint",
    "redis_url",
    "unique_table_name",
]

AWS_MARKER = "dyntable_aws"
DAX_MARKER = "dyntable_dax"
_MARKERS = {
    AWS_MARKER: "needs real AWS (dyntable skips it unless DYNTABLE_AWS_TESTS=1)",
    DAX_MARKER: "needs a real DAX cluster (dyntable skips it unless DYNTABLE_DAX_ENDPOINT "
    "is set)",
}
FAKE_ACCESS_KEY = "testing"
FAKE_REGION = "us-east-1"
# Variables that would give botocore (or dyntable) other credentials than the dummy ones.
_HIDDEN = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")

AWS_SKIP_REASON = (
    "real AWS: set DYNTABLE_AWS_TESTS=1 to run (uses the default boto3 credentials and "
    "region, and creates billable tables)"
)
DAX_SKIP_REASON = "real DAX: set DYNTABLE_DAX_ENDPOINT to a DAX cluster endpoint to run"


@dataclass
class _State:
    backend: str | None = None
    warning: str | None = None


_STATE = pytest.StashKey[_State]()


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@contextmanager
def fake_aws_environment() -> Iterator[None]:
    """Dummy AWS credentials and a region in ``os.environ`` for the ``with`` block.

    Sets ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` to ``testing``, hides any
    session token and profile, and sets ``AWS_DEFAULT_REGION=us-east-1`` unless
    ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` is set. Every variable is restored on exit.
    DynamoDB Local and moto accept these keys; real AWS refuses them.
    """
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY)
        env.setenv("AWS_SECRET_ACCESS_KEY", FAKE_ACCESS_KEY)
        for name in _HIDDEN:
            env.delenv(name, raising=False)
        if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
            env.setenv("AWS_DEFAULT_REGION", FAKE_REGION)
        yield


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_STATE] = _State()
    declared = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
    for name, text in _MARKERS.items():
        if name not in declared:
            config.addinivalue_line("markers", f"{name}: {text}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_aws = _flag("DYNTABLE_AWS_TESTS")
    run_dax = bool(os.environ.get("DYNTABLE_DAX_ENDPOINT", "").strip())
    for item in items:
        if not run_aws and item.get_closest_marker(AWS_MARKER) is not None:
            item.add_marker(pytest.mark.skip(reason=AWS_SKIP_REASON))
        if not run_dax and item.get_closest_marker(DAX_MARKER) is not None:
            item.add_marker(pytest.mark.skip(reason=DAX_SKIP_REASON))


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or state.backend is None:
        return
    terminalreporter.write_line(f"dyntable: integration tests ran on {state.backend}")
    if state.warning:
        terminalreporter.write_line(f"WARNING dyntable: {state.warning}", yellow=True, bold=True)


@pytest.fixture(scope="session")
def dynamodb_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """The DynamoDB endpoint URL for integration tests (one server per session)."""
    state = request.config.stash[_STATE]
    external = os.environ.get("DYNTABLE_TEST_ENDPOINT", "").strip()
    if external:
        state.backend = f"the external endpoint {external} (DYNTABLE_TEST_ENDPOINT)"
        yield external
        return

    from dyntable.testing.dynamodb_local import DynamoDBLocal, LocalServerError

    server = DynamoDBLocal()
    try:
        server.start()
    except LocalServerError as exc:
        if not _flag("DYNTABLE_TEST_ALLOW_MOTO"):
            pytest.fail(
                f"dyntable: cannot start DynamoDB Local for the integration tests: {exc}\n"
                "Fix that, or set DYNTABLE_TEST_ENDPOINT to a running DynamoDB endpoint, or "
                "set DYNTABLE_TEST_ALLOW_MOTO=1 to run them on moto (a mock).",
                pytrace=False,
            )
        endpoint: str = request.getfixturevalue("moto_endpoint")
        state.backend = f"moto at {endpoint} (DYNTABLE_TEST_ALLOW_MOTO=1)"
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        state.warning = (
            "integration tests ran on moto, a mock, because DynamoDB Local could not be "
            f"started ({first_line}); behaviour verified only on moto is not verified"
        )
        yield endpoint
        return

    try:
        state.backend = (
            f"DynamoDB Local {server.version or '?'} at {server.endpoint_url} "
            f"({server.directory}; started in {server.startup_seconds or 0:.1f}s)"
        )
        yield server.endpoint_url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The endpoint URL of moto's in-process DynamoDB server (one per session)."""
    from dyntable.testing.dynamodb_local import LocalServerError
    from dyntable.testing.embedded import start_moto

    try:
        server = start_moto()
    except LocalServerError as exc:
        pytest.fail(f"dyntable: cannot start moto: {exc}", pytrace=False)
    try:
        yield server.endpoint_url
    finally:
        server.stop()


@pytest.fixture
def unique_table_name() -> str:
    """A table name no other test uses, e.g. ``dyntable-test-3f9c0a1b2d4e``."""
    return f"dyntable-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def fake_aws_env() -> Iterator[None]:
    """Dummy AWS credentials and region for this test only (see :func:`fake_aws_environment`)."""
    with fake_aws_environment():
        yield


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis URL for tests (one ``redis-server`` per session; see the module docs)."""
    external = os.environ.get("DYNTABLE_TEST_REDIS_URL", "").strip()
    if external:
        yield external
        return
    from dyntable.testing.install import LocalServerError, MissingDependencyError
    from dyntable.testing.redis_server import RedisServer

    server = RedisServer()
    try:
        server.start()
    except MissingDependencyError as exc:
        if _flag("CI"):
            pytest.fail(f"dyntable: cannot get redis-server on CI: {exc}", pytrace=False)
        pytest.skip(f"dyntable: no redis-server for the Redis cache tests: {exc}")
    except LocalServerError as exc:
        pytest.fail(f"dyntable: cannot start redis-server: {exc}", pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()
