"""The derived LeadingKeys patterns, evaluated as IAM's StringLike would, against the keys
dyntable really writes: each tenant's keys match its own patterns and never another's."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dyntable.codec import codec_for
from dyntable.deploy import Access, TenantIsolation
from dyntable.deploy.iam import leading_key_patterns
from tests.unit.deploy.apps import Counter, Customer, Order

TENANT = TenantIsolation()
_TOKEN = re.compile(r"\$\{([^}]*)\}|\*|\?|.", re.DOTALL)


def string_like(pattern: str, value: str, variables: dict[str, str]) -> bool:
    """IAM's StringLike: ``*`` any run, ``?`` one character, ``${*}`` / ``${?}`` / ``${$}``
    the character itself, ``${name}`` the policy variable's value (matched literally)."""
    out = []
    for m in _TOKEN.finditer(pattern):
        text = m.group(0)
        if m.group(1) is not None:
            name = m.group(1)
            out.append(re.escape(name if name in ("*", "?", "$") else variables[name]))
        elif text == "*":
            out.append(".*")
        elif text == "?":
            out.append(".")
        else:
            out.append(re.escape(text))
    return re.fullmatch("".join(out), value, re.DOTALL) is not None


def test_the_matcher() -> None:
    v = {"aws:PrincipalTag/tenant": "a.b"}
    assert string_like("T#${aws:PrincipalTag/tenant}#*", "T#a.b#x", v)
    assert not string_like("T#${aws:PrincipalTag/tenant}#*", "T#aXb#x", v)  # "." is literal
    assert string_like("A${*}?", "A*z", v) and not string_like("A${*}?", "AB", v)


# Tenants as STS session tag values allow them (no '#': it is the templates' separator).
tenants = st.text(alphabet="abcAB09_.:/=+@-", min_size=1, max_size=12)
ids = st.text(alphabet="xyz019-_.", min_size=1, max_size=8)


def _items(tenant: str, ident: str) -> list[tuple[Access, Any]]:
    return [
        (Access(Customer, read=True, indexes=("GSI1",)),
         Customer(tenant=tenant, customer_id=ident, email=f"{ident}@x")),
        (Access(Order, read=True, indexes=("GSI1",)),
         Order(tenant=tenant, customer_id=ident, order_id=ident, status="placed",
               total=Decimal("1.5"))),
        (Access(Counter, read=True), Counter(tenant=tenant, name=ident)),
    ]


@settings(max_examples=150, deadline=None)
@given(mine=tenants, other=tenants, ident=ids)
def test_patterns_admit_own_keys_and_refuse_other_tenants(mine: str, other: str,
                                                          ident: str) -> None:
    as_mine = {"aws:PrincipalTag/tenant": mine}
    for access, obj in _items(other, ident):
        item = codec_for(type(obj)).encode(obj)
        own_item = codec_for(type(obj)).encode(obj.model_copy(update={"tenant": mine}))
        spec = type(obj).__dyntable__
        for res, pattern in leading_key_patterns(access, TENANT).items():
            key = spec.primary if res == ("table",) else spec.indexes[res[1]]
            assert string_like(pattern, own_item[key.pk_attr]["S"], as_mine)
            if other != mine:
                assert not string_like(pattern, item[key.pk_attr]["S"], as_mine), (
                    pattern, item[key.pk_attr])
