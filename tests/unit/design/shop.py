"""The example shop design (tests/models.py + shop_samples.yaml), shared by the design tests,
the browser test and docs/design.md."""

from __future__ import annotations

from pathlib import Path

from dyntable.design.model import Design, build_design
from dyntable.design.samples import load_fixture
from tests.models import shop

SAMPLES = Path(__file__).with_name("shop_samples.yaml")


def shop_design() -> Design:
    """The shop table's design with the sample items of ``shop_samples.yaml``."""
    return build_design(shop, load_fixture(SAMPLES, shop))
