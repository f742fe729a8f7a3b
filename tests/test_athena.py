"""Athena projects through xraylarch (an optional extra, absent from the test install)."""

import sys
import types

import numpy as np
import pytest

from redoxmap.spectra.athena import MissingExtraError, read_athena


def test_missing_larch_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "Mn.prj").write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "larch", None)
    with pytest.raises(MissingExtraError, match=r"Mn.prj: .*pip install 'redoxmap\[larch\]'"):
        read_athena(tmp_path / "Mn.prj")


def test_groups_are_returned_with_their_calibration_shift(tmp_path, monkeypatch):
    """Our adapter over larch's reader: labels, shifted energies, μ as stored."""
    group = types.SimpleNamespace(label="Li2MnO3", energy=np.array([6550.0, 6551.0]),
                                  mu=np.array([0.1, 0.9]), energy_shift=1.2982)
    project = types.SimpleNamespace(groups={"Li2MnO3": group})
    fake = types.ModuleType("larch.io")
    fake.read_athena = lambda path: project
    monkeypatch.setitem(sys.modules, "larch", types.ModuleType("larch"))
    monkeypatch.setitem(sys.modules, "larch.io", fake)
    (tmp_path / "Mn.prj").write_bytes(b"x")
    spectra = read_athena(tmp_path / "Mn.prj")
    energy, mu = spectra["Li2MnO3"]
    np.testing.assert_allclose(energy, [6551.2982, 6552.2982])
    np.testing.assert_allclose(mu, [0.1, 0.9])
