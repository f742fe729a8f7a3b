"""Fitting spectra: linear combinations of references."""

from redoxmap.fit.lincomb import MODES, lincomb

__all__ = ["MODES", "lincomb"]
