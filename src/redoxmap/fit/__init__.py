"""Fitting spectra: linear combinations of references, every combination of them ranked, and
oxidation-state (valence) maps from standards of known valence."""

from redoxmap.fit.combinations import rank_combinations
from redoxmap.fit.lincomb import MODES, lincomb
from redoxmap.fit.valence import valence_inputs, valence_map

__all__ = ["MODES", "lincomb", "rank_combinations", "valence_inputs", "valence_map"]
