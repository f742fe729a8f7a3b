"""XDI 1.0 files: the reader lives in :mod:`redoxmap.io.xdi` (formats are read in ``io``); kept here
for the standards' users."""

from redoxmap.io.xdi import read_xdi

__all__ = ["read_xdi"]
