"""Athena project files: the reader lives in :mod:`redoxmap.io.athena` (formats are read in ``io``);
kept here for the standards' users."""

from redoxmap.errors import MissingExtraError
from redoxmap.io.athena import read_athena

__all__ = ["MissingExtraError", "read_athena"]
