"""Deploying an application: its declaration, least-privilege IAM, and a SAM template.

Public names load on first use::

    from dyntable.deploy import Access, Application, Function, policy_document
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dyntable._lazy import lazy_exports

if TYPE_CHECKING:
    from dyntable.deploy.app import (
        Access,
        Api,
        Application,
        Cognito,
        Function,
        StreamEvents,
        TenantIsolation,
    )
    from dyntable.deploy.errors import DeployDeclarationError, TenantIsolationError
    from dyntable.deploy.iam import (
        LiteralArns,
        TemplateArns,
        execution_policy,
        policy_document,
        tenant_trust_policy,
    )
    from dyntable.deploy.loading import load_application, load_target
    from dyntable.deploy.sam import application_template
    from dyntable.deploy.tenant import TenantNotSetError, TenantRole

_LAZY = {
    "Access": ".app", "Api": ".app", "Application": ".app", "Cognito": ".app",
    "Function": ".app", "StreamEvents": ".app", "TenantIsolation": ".app",
    "DeployDeclarationError": ".errors", "TenantIsolationError": ".errors",
    "LiteralArns": ".iam", "TemplateArns": ".iam", "policy_document": ".iam",
    "execution_policy": ".iam", "tenant_trust_policy": ".iam",
    "application_template": ".sam", "TenantNotSetError": ".tenant", "TenantRole": ".tenant",
    "load_application": ".loading", "load_target": ".loading",
}

__all__ = [
    "Access",
    "Api",
    "Application",
    "Cognito",
    "DeployDeclarationError",
    "Function",
    "LiteralArns",
    "StreamEvents",
    "TemplateArns",
    "TenantIsolation",
    "TenantIsolationError",
    "TenantNotSetError",
    "TenantRole",
    "application_template",
    "execution_policy",
    "load_application",
    "load_target",
    "policy_document",
    "tenant_trust_policy",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
