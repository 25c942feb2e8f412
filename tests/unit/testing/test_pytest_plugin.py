"""dyntable's pytest plugin is opt-in and changes nothing it was not asked for.

Each test runs a small foreign project with pytest's ``pytester`` (in a subprocess). That
project has dyntable installed, as every project that depends on it does; the first
tests show that without opting in the plugin is not there at all, the others that an
opted-in plugin acts only on its own fixtures and namespaced markers.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["pytester"]

_AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
)
_DYNTABLE_ENV = (
    "DYNTABLE_AWS_TESTS",
    "DYNTABLE_DAX_ENDPOINT",
    "DYNTABLE_TEST_ENDPOINT",
    "DYNTABLE_TEST_ALLOW_MOTO",
)

# The foreign project's ini: its own `aws` marker, and --strict-markers.
_PROJECT_INI = """
[pytest]
addopts = --strict-markers -p no:cacheprovider
markers =
    aws: this project's tests that need AWS (the project's own marker)
"""

# The foreign project's AWS setup lives in its shared config files (like ~/.aws).
_CREDENTIALS_FILE = "[default]\naws_access_key_id = project-key\naws_secret_access_key = s\n"
_CONFIG_FILE = "[default]\nregion = eu-west-3\n"

_PROJECT_TESTS = """
import os

import botocore.session
import pytest

AWS_NAMES = {aws_names!r}
EXPECTED = {expected!r}


def aws_env():
    return {{name: os.environ.get(name) for name in AWS_NAMES}}


def test_environment_is_the_projects_own():
    assert aws_env() == EXPECTED
    session = botocore.session.Session()
    assert session.get_credentials().access_key == "project-key"
    assert session.get_config_variable("region") == "eu-west-3"


@pytest.mark.aws
def test_own_aws_marker_runs():
    assert aws_env() == EXPECTED
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run the foreign project's pytest in a fresh interpreter, as its own CI would (in
    process, pytest's marker cache would carry this suite's markers over)."""
    return pytester.runpytest_subprocess(*args, timeout=120)


def _expected_env() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in _AWS_ENV}


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A foreign project whose credentials and region come from its shared AWS files."""
    for name in (*_AWS_ENV, *_DYNTABLE_ENV):
        monkeypatch.delenv(name, raising=False)
    aws = pytester.mkdir("aws")
    (aws / "credentials").write_text(_CREDENTIALS_FILE)
    (aws / "config").write_text(_CONFIG_FILE)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws / "config"))
    pytester.makeini(_PROJECT_INI)
    pytester.makepyfile(
        test_project=_PROJECT_TESTS.format(aws_names=_AWS_ENV, expected=_expected_env())
    )
    return pytester


# -- not opted in: the plugin is not there ------------------------------------------------


def test_not_opted_in_leaves_environment_and_own_aws_marker_alone(
    project: pytest.Pytester,
) -> None:
    result = _run(project, "-rs")
    result.assert_outcomes(passed=2)
    assert "dyntable" not in result.stdout.str()


def test_not_opted_in_strict_markers_still_reports_unknown_markers(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_markers="""
        import pytest

        @pytest.mark.integration
        def test_marked():
            pass

        @pytest.mark.slow
        def test_slow():
            pass
        """
    )
    result = _run(project, "test_markers.py")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*'integration' not found in `markers` configuration option*"])


def test_not_opted_in_offers_no_fixtures_nor_markers(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_fixture="""
        def test_uses_fixture(unique_table_name):
            pass
        """
    )
    result = _run(project, "test_fixture.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'unique_table_name' not found*"])
    markers = _run(project, "--markers").stdout.str()
    assert "dyntable" not in markers and "integration" not in markers


# -- opted in: only its own fixtures and namespaced markers -----------------------------

_OPTED_IN_TESTS = """
import os

import pytest

AWS_NAMES = {aws_names!r}
EXPECTED = {expected!r}


def aws_env():
    return {{name: os.environ.get(name) for name in AWS_NAMES}}


@pytest.mark.dyntable_aws
def test_needs_real_aws():
    pass


@pytest.mark.dyntable_dax
def test_needs_real_dax():
    pass


def test_fake_env_inside_the_fixture_only(fake_aws_env, unique_table_name):
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
    assert unique_table_name.startswith("dyntable-test-")


def test_environment_restored_after_the_fixture():
    assert aws_env() == EXPECTED


def test_endpoint(dynamodb_endpoint):
    assert dynamodb_endpoint == "http://127.0.0.1:1"
    assert aws_env() == EXPECTED
"""


@pytest.fixture(params=["conftest", "-p"])
def opted_in(request: pytest.FixtureRequest, project: pytest.Pytester,
             monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The foreign project opted in, by ``pytest_plugins`` in its conftest or by ``-p``.

    Returns the extra command-line arguments the run needs.
    """
    project.makepyfile(
        test_opted_in=_OPTED_IN_TESTS.format(aws_names=_AWS_ENV, expected=_expected_env())
    )
    monkeypatch.setenv("DYNTABLE_TEST_ENDPOINT", "http://127.0.0.1:1")
    if request.param == "conftest":
        project.makeconftest('pytest_plugins = ["dyntable.testing.pytest_plugin"]\n')
        return []
    return ["-p", "dyntable.testing.pytest_plugin"]


def test_opted_in_acts_only_on_its_own_fixtures_and_markers(
    project: pytest.Pytester, opted_in: list[str]
) -> None:
    result = _run(project, "-rs", *opted_in)
    result.assert_outcomes(passed=5, skipped=2)
    out = result.stdout.str()
    assert "real AWS: set DYNTABLE_AWS_TESTS=1" in out
    assert "set DYNTABLE_DAX_ENDPOINT" in out
    assert "integration tests ran on the external endpoint http://127.0.0.1:1" in out


def test_opted_in_runs_real_aws_tests_when_asked(
    project: pytest.Pytester, opted_in: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNTABLE_AWS_TESTS", "1")
    result = _run(project, *opted_in)
    result.assert_outcomes(passed=6, skipped=1)


def test_opted_in_declares_only_namespaced_markers(
    project: pytest.Pytester, opted_in: list[str]
) -> None:
    project.makepyfile(
        test_markers="""
        import pytest

        @pytest.mark.dax
        def test_marked():
            pass
        """
    )
    result = _run(project, "test_markers.py", *opted_in)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*'dax' not found in `markers` configuration option*"])
    markers = _run(project, "--markers", *opted_in).stdout.str()
    assert "@pytest.mark.dyntable_aws" in markers
    assert "@pytest.mark.dyntable_dax" in markers
    assert "@pytest.mark.integration" not in markers
    assert "@pytest.mark.slow" not in markers
