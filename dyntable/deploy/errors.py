"""Errors of the deploy layer (all :class:`~dyntable.errors.DeclarationError`)."""

from __future__ import annotations

from dyntable.errors import DeclarationError

__all__ = ["DeployDeclarationError", "TenantIsolationError"]


class DeployDeclarationError(DeclarationError):
    """An application declaration (functions, access, API, stream mapping) is inconsistent."""


class TenantIsolationError(DeployDeclarationError):
    """A function declared tenant-isolated accesses something ``dynamodb:LeadingKeys``
    cannot confine to one tenant (the message names the model, key and reason)."""
