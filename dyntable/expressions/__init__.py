"""Condition, filter, update and projection expressions over model fields."""

from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Condition
from dyntable.expressions.paths import F, Path, if_not_exists, list_append

__all__ = ["Compiler", "Condition", "F", "Path", "if_not_exists", "list_append"]
