"""The echem report folder: figures and tables from the API, written atomically."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from redoxmap.echem import cycle_table, gitt, standard_table
from redoxmap.echem.report import write_echem_report
from test_echem_cycling import CHARGE_PEAKS_V, simulated_cycling

DATA = Path(__file__).parent / "data" / "echem"


def test_report_writes_tables_and_figures(tmp_path):
    data = simulated_cycling(cycles=3)
    cycles = cycle_table(data, mass_mg=10.0)
    time_s, voltage, current = np.loadtxt(DATA / "gitt_pybamm.csv.gz", delimiter=",", skiprows=1, unpack=True)
    radius_nm = json.loads((DATA / "gitt_pybamm.json").read_text())["positive_particle_radius_m"] * 1e9
    pulses = gitt(standard_table(time_s, voltage, current), radius_nm=radius_nm)
    written = write_echem_report(cycles, tmp_path / "report", data=data, gitt_table=pulses)
    names = sorted(p.name for p in written)
    assert names == sorted(["cycles.csv", "capacity.png", "retention.png", "profiles.png", "dqdv.csv",
                            "dqdv_peaks.csv", "dqdv.png", "gitt.csv", "gitt.png"])
    assert not list((tmp_path / "report").glob(".*"))  # no temporary file left behind
    for name in names:
        assert (tmp_path / "report" / name).stat().st_size > 500
    peaks = pd.read_csv(tmp_path / "report" / "dqdv_peaks.csv")
    charge = peaks[(peaks.kind == "charge") & (peaks.cycle == 3)].sort_values("voltage_v")
    np.testing.assert_allclose(charge.voltage_v, CHARGE_PEAKS_V, atol=0.005)
    table = pd.read_csv(tmp_path / "report" / "cycles.csv")
    assert table.discharge_capacity_mah_g.iloc[0] == pytest.approx(100.0, rel=4e-3)
    assert len(pd.read_csv(tmp_path / "report" / "gitt.csv")) == 19
