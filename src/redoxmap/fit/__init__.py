"""Fitting spectra: linear combinations of references, and every combination of them ranked."""

from redoxmap.fit.combinations import rank_combinations
from redoxmap.fit.lincomb import MODES, lincomb

__all__ = ["MODES", "lincomb", "rank_combinations"]
