"""dyntable's pytest plugin (registered as the ``dyntable`` pytest11 entry point).

Fixtures:
    dynamodb_endpoint (session): the endpoint integration tests talk to.
        ``$DYNTABLE_TEST_ENDPOINT`` when set; otherwise one DynamoDB Local started for
        the whole session (fetched into the user cache on first use). If DynamoDB
        Local cannot be started the tests fail, unless ``DYNTABLE_TEST_ALLOW_MOTO=1``,
        which runs them on moto and says so in the terminal summary.
    moto_endpoint (session): moto's in-process server, for quick unit checks.
    unique_table_name (function): a fresh table name, so tests can share one server.

Also:
    - dummy AWS credentials (``testing``) and region (``us-east-1``) are put in the
      environment for the session when none are configured, never when
      ``DYNTABLE_AWS_TESTS=1`` (turn off with the ini option ``dyntable_fake_aws_env =
      false``); the environment is restored afterwards;
    - tests marked ``aws`` are skipped unless ``DYNTABLE_AWS_TESTS=1``, tests marked
      ``dax`` unless ``DYNTABLE_DAX_ENDPOINT`` is set;
    - the terminal summary names the backend that served ``dynamodb_endpoint``.

This module is imported by every pytest run in an environment that has dyntable
installed, so it imports nothing heavy until a fixture is used.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

__all__ = ["dynamodb_endpoint", "moto_endpoint", "unique_table_name"]

_MARKERS = {
    "integration": "needs a DynamoDB endpoint (the dynamodb_endpoint fixture)",
    "aws": "needs real AWS (skipped unless DYNTABLE_AWS_TESTS=1)",
    "dax": "needs a real DAX cluster (skipped unless DYNTABLE_DAX_ENDPOINT is set)",
    "slow": "long-running",
}
_FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
_CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE")
_REGION_VARS = ("AWS_DEFAULT_REGION", "AWS_REGION")

AWS_SKIP_REASON = (
    "real AWS: set DYNTABLE_AWS_TESTS=1 to run (uses the default boto3 credentials and "
    "region, and creates billable tables)"
)
DAX_SKIP_REASON = "real DAX: set DYNTABLE_DAX_ENDPOINT to a DAX cluster endpoint to run"


@dataclass
class _State:
    backend: str | None = None
    warning: str | None = None
    saved_env: dict[str, str | None] = field(default_factory=dict)


_STATE = pytest.StashKey[_State]()


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "dyntable_fake_aws_env",
        type="bool",
        default=True,
        help="dyntable: set dummy AWS credentials/region for the session when none are set",
    )


def pytest_configure(config: pytest.Config) -> None:
    state = _State()
    config.stash[_STATE] = state
    declared = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
    for name, text in _MARKERS.items():
        if name not in declared:
            config.addinivalue_line("markers", f"{name}: {text}")
    if config.getini("dyntable_fake_aws_env") and not _flag("DYNTABLE_AWS_TESTS"):
        _set_fake_aws_env(state)


def _set_fake_aws_env(state: _State) -> None:
    updates: dict[str, str] = {}
    if not any(os.environ.get(name) for name in _CREDENTIAL_VARS):
        updates.update(_FAKE_CREDENTIALS)
    if not any(os.environ.get(name) for name in _REGION_VARS):
        updates["AWS_DEFAULT_REGION"] = "us-east-1"
    for name, value in updates.items():
        state.saved_env[name] = os.environ.get(name)
        os.environ[name] = value


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    for name, value in state.saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    state.saved_env.clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_aws = _flag("DYNTABLE_AWS_TESTS")
    run_dax = bool(os.environ.get("DYNTABLE_DAX_ENDPOINT", "").strip())
    for item in items:
        if not run_aws and item.get_closest_marker("aws") is not None:
            item.add_marker(pytest.mark.skip(reason=AWS_SKIP_REASON))
        if not run_dax and item.get_closest_marker("dax") is not None:
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
