"""benchmarks.lambda_package: its measuring parts, and its check that the default transport
runs a handler with boto3/botocore absent (run from a bundle linked to this checkout)."""

from __future__ import annotations

import importlib.metadata
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.lambda_package import (
    _NO_CREDENTIALS,
    _PROBE,
    ROOT,
    SDK,
    VARIANTS,
    Bundles,
    Variant,
    child_source,
    probe_without_botocore,
    runtime_requirements,
    tree_bytes,
    zipped_bytes,
)


def test_every_variant_and_probe_is_valid_python() -> None:
    for variant in VARIANTS:
        compile(child_source(variant), variant.name, "exec")
    compile(_PROBE, "probe", "exec")
    compile(_NO_CREDENTIALS, "no credentials", "exec")


def test_a_child_reports_four_phases_and_its_own_peak_rss() -> None:
    code = child_source(Variant("json", "slim", imports="import json\n",
                                first_get="json.dumps({'a': [1] * 1000})\n"))
    done = subprocess.run([sys.executable, "-S", "-s", "-c", code], capture_output=True,
                          text=True, check=True)
    (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    _, *phases, peak = line.split()
    assert len(phases) == 4 and all(float(p) >= 0 for p in phases)
    # The child's own high-water mark (a bare interpreter: ~10 MB), not the forking parent's,
    # which getrusage()'s ru_maxrss would report after exec.
    parent_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert 1_000 < int(peak) < min(30_000, parent_kib)


def test_runtime_requirements_are_the_unconditional_ones(tmp_path: Path) -> None:
    info = tmp_path / "dyntable-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Name: dyntable\nRequires-Dist: boto3>=1.34\nRequires-Dist: pydantic<3,>=2.6\n"
        "Requires-Dist: click>=8.1; extra == 'cli'\n"
        "Requires-Dist: tzdata; sys_platform == 'win32'\n", encoding="utf-8")
    assert runtime_requirements(tmp_path) == ["boto3>=1.34", "pydantic<3,>=2.6", "tzdata"]


def test_sizes_count_regular_files_and_zip_them(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n" * 1000)
    (tmp_path / "b.txt").write_bytes(b"12345")
    (tmp_path / "link.py").symlink_to(tmp_path / "pkg" / "a.py")
    assert tree_bytes(tmp_path) == (2, 6005)
    assert 0 < zipped_bytes(tmp_path) < 6005   # "x = 1" a thousand times deflates well


def _top_level(dist: importlib.metadata.Distribution) -> set[str]:
    names = set()
    for file in dist.files or ():
        first = Path(str(file)).parts[0]
        if first.endswith((".dist-info", ".pth")) or first in ("..", "__pycache__"):
            continue
        names.add(first)
    return names


def _linked_bundle(root: Path) -> Path:
    """A bundle like the slim one (dyntable and pydantic's closure), made of symlinks."""
    bundle = root / "slim"
    bundle.mkdir()
    (bundle / "dyntable").symlink_to(ROOT / "dyntable")
    todo, seen = ["pydantic"], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        dist = importlib.metadata.distribution(name)
        for entry in _top_level(dist):
            (bundle / entry).symlink_to(Path(str(dist.locate_file(entry))))
        for req in dist.requires or ():
            if "extra ==" not in req:
                todo.append(req.split(";")[0].split("=")[0].split(">")[0].split("<")[0].strip())
    assert not set(SDK) & {p.name for p in bundle.iterdir()}
    return bundle


@pytest.mark.integration
def test_a_handler_runs_from_a_bundle_without_botocore(tmp_path: Path,
                                                      dynamodb_endpoint: str) -> None:
    bundle = _linked_bundle(tmp_path)
    bundles = Bundles(full=bundle, slim=bundle, slim_nopyc=bundle, excluded=(), added=())
    done, no_credentials = probe_without_botocore(bundles, dynamodb_endpoint)
    assert done.startswith("HttpTransport, PutItem, BatchWriteItem, Query, "
                           "ConditionalCheckFailed, TransactWriteItems, UpdateItem, "
                           "AsyncHttpTransport GetItem"), done
    assert done.endswith("blocked imports: none"), done
    assert no_credentials.startswith("ConfigurationError: cannot load AWS credentials"), (
        no_credentials)
    assert "AWS_ACCESS_KEY_ID" in no_credentials
