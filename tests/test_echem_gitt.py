"""GITT against a PyBaMM simulation with a known diffusivity (stored by `make validate`)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from redoxmap.echem import gitt, standard_table
from redoxmap.errors import FitError

DATA = Path(__file__).parent / "data" / "echem"


@pytest.fixture(scope="module")
def simulated():
    time_s, voltage, current = np.loadtxt(DATA / "gitt_pybamm.csv", delimiter=",", skiprows=1, unpack=True)
    params = json.loads((DATA / "gitt_pybamm.json").read_text())
    return standard_table(time_s, voltage, current), params


def test_diffusivity_within_factor_two_for_valid_pulses(simulated):
    data, params = simulated
    table = gitt(data, radius_um=params["positive_particle_radius_m"] * 1e6)
    assert len(table) >= 15
    valid = table[table.valid]
    assert len(valid) == len(table)  # 60 s pulses: τ·D/L² ≈ 0.03
    ratio = valid.diffusivity_cm2_s / params["positive_particle_diffusivity_cm2_s"]
    assert ratio.between(0.5, 2.0).all()
    assert (table.kind == "discharge").all()
    assert (table.overpotential_v < 0).all() and (table.ir_drop_v > 0).all()


def test_long_pulses_are_flagged():
    """10 min pulses with a 10× faster diffusivity: τ is not ≪ L²/D, every pulse is flagged."""
    time_s, voltage, current = np.loadtxt(DATA / "gitt_pybamm_long.csv", delimiter=",", skiprows=1,
                                          unpack=True)
    params = json.loads((DATA / "gitt_pybamm_long.json").read_text())
    table = gitt(standard_table(time_s, voltage, current),
                 radius_um=params["positive_particle_radius_m"] * 1e6)
    assert len(table) >= 5 and not table.valid.any()
    assert (table.tau_d_over_l2 > 0.5).all()


def test_gitt_errors():
    rest = standard_table(np.arange(10.0), np.full(10, 3.7), np.zeros(10))
    with pytest.raises(FitError, match="no current pulse"):
        gitt(rest, radius_um=5.0)
    with pytest.raises(FitError, match="exactly one of"):
        gitt(rest)
    assert isinstance(rest, pd.DataFrame)
