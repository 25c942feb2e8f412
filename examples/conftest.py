"""pytest setup for the examples: dyntable's DynamoDB Local plugin, and the shop on sys.path.

The plugin gives ``dynamodb_endpoint`` ($DYNTABLE_TEST_ENDPOINT when set, else a DynamoDB
Local started for the session), ``unique_table_name`` and ``fake_aws_env``.
"""

from __future__ import annotations

import sys
from pathlib import Path

pytest_plugins = ["dyntable.testing.pytest_plugin"]

_SHOP = str(Path(__file__).parent / "shop")
if _SHOP not in sys.path:
    sys.path.insert(0, _SHOP)  # `import shopapi`, as Lambda finds it at the package root
