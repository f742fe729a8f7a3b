"""Reference libraries: the standards of one edge with their valences, in one file.

CSV layout (header lines start with ``#``; ``valence`` lists one number per standard column)::

    # redoxmap reference library
    # edge: Mn L3
    # valence: MnO=2, Mn2O3=3, MnO2=4
    energy_ev,MnO,Mn2O3,MnO2
    635.0,0.01,0.02,0.01
    ...

HDF5 layout: ``/energy_ev`` and one dataset per standard under ``/standards`` with a ``valence``
attribute; the root attribute ``edge`` names the edge.
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import xarray as xr

from redoxmap.errors import FormatError
from redoxmap.history import with_history
from redoxmap.io.atomic import atomic_output
from redoxmap.io.energies import check_increasing
from redoxmap.io.hdf5 import _h5_errors, _open_h5
from redoxmap.spectra.references import resample

#: Default analysis windows (eV) per edge, Liu et al. Nat. Nanotechnol. 2024 (Liu et al. 2024), Methods.
ANALYSIS_WINDOWS_EV = {"O K": (526.0, 536.0), "Mn L3": (638.0, 648.0), "Co L3": (775.0, 782.0),
                       "Ni L3": (850.0, 860.0)}
#: Broad acquisition ranges (eV) per edge, same source.
ACQUISITION_RANGES_EV = {"O K": (525.0, 555.0), "Mn L3": (635.0, 665.0), "Co L3": (775.0, 805.0),
                         "Ni L3": (848.0, 880.0)}


def make_library(energy_ev: np.ndarray, spectra: dict[str, np.ndarray],
                 valence: dict[str, float], edge: str) -> xr.DataArray:
    """Build a reference library: the standards of one edge as a DataArray ``(component, energy)`` with
    a ``valence`` coordinate.

    Parameters
    ----------
    energy_ev : numpy.ndarray
        Energies of the spectra (eV).
    spectra : dict of str to numpy.ndarray
        Spectrum of each standard, by name, on ``energy_ev``.
    valence : dict of str to float
        Valence of each standard, by name.
    edge : str
        The edge, e.g. ``"Mn L3"`` (keys of :data:`ANALYSIS_WINDOWS_EV` select an analysis window).

    Returns
    -------
    xarray.DataArray
        The library, ``attrs["edge"]`` set.

    Raises
    ------
    FormatError
        If a standard has no valence.

    Examples
    --------
    >>> lib = make_library(np.array([640.0, 641.0, 642.0]),
    ...                    {"MnO": np.array([0.1, 0.5, 1.0]), "MnO2": np.array([0.0, 0.2, 1.0])},
    ...                    {"MnO": 2, "MnO2": 4}, "Mn L3")
    >>> lib.dims, lib.valence.values.tolist()
    (('component', 'energy'), [2.0, 4.0])
    """
    names = list(spectra)
    missing = [n for n in names if n not in valence]
    if missing:
        raise FormatError(f"no valence given for standard(s) {missing}; expected one per standard")
    lib = xr.DataArray(np.array([spectra[n] for n in names], dtype=float), dims=("component", "energy"),
                       coords={"component": names, "energy": np.asarray(energy_ev, float),
                               "valence": ("component", [float(valence[n]) for n in names])},
                       attrs={"edge": edge, "history": []})
    lib["energy"].attrs["units"] = "eV"
    return lib


def write_library(lib: xr.DataArray, path: str | Path, overwrite: bool = False) -> Path:
    """Write a library as CSV (``.csv``) or HDF5 (``.h5``; layouts in the module doc), under a temporary
    name, then renamed.

    Parameters
    ----------
    lib : xarray.DataArray
        Standards ``(component, energy)`` with a ``valence`` coordinate.
    path : str or pathlib.Path
        Output file, ``.csv`` or ``.h5``.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile
    >>> lib = make_library(np.array([640.0, 641.0]), {"MnO": np.array([0.1, 1.0])}, {"MnO": 2}, "Mn L3")
    >>> path = write_library(lib, Path(tempfile.mkdtemp()) / "lib.csv")
    >>> path.read_text().splitlines()[:4]
    ['# redoxmap reference library', '# edge: Mn L3', '# valence: MnO=2', 'energy_ev,MnO']
    """
    path = Path(path)
    names = [str(n) for n in lib.component.values]
    with atomic_output(path, overwrite=overwrite) as tmp:
        _write_library(lib, names, path.suffix.lower() == ".csv", tmp)
    return path


def _write_library(lib: xr.DataArray, names: list[str], csv: bool, tmp: Path) -> None:
    if csv:
        valence = ", ".join(f"{n}={v:g}" for n, v in zip(names, lib.valence.values, strict=True))
        header = (f"# redoxmap reference library\n# edge: {lib.attrs.get('edge', '')}\n"
                  f"# valence: {valence}\n" + ",".join(["energy_ev", *names]))
        np.savetxt(tmp, np.column_stack([lib.energy.values, lib.values.T]), delimiter=",",
                   header=header, comments="", fmt="%.6g")
    else:
        with h5py.File(tmp, "w") as h5:
            h5.attrs["edge"] = lib.attrs.get("edge", "")
            h5["energy_ev"] = lib.energy.values
            for name, spectrum, v in zip(names, lib.values, lib.valence.values, strict=True):
                h5[f"standards/{name}"] = spectrum
                h5[f"standards/{name}"].attrs["valence"] = float(v)


def _read_csv(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float], str]:
    lines = path.read_text(errors="replace").splitlines()
    edge, valence, names, rows = "", {}, None, []
    for n, line in enumerate(lines, start=1):
        text = line.strip()
        if text.startswith("#"):
            body = text.lstrip("#").strip()
            if body.lower().startswith("edge:"):
                edge = body.split(":", 1)[1].strip()
            elif body.lower().startswith("valence:"):
                for item in body.split(":", 1)[1].split(","):
                    if "=" not in item:
                        raise FormatError(f"{path}, line {n}: valence entry {item.strip()!r} is not "
                                          "name=number")
                    key, value = item.split("=", 1)
                    try:
                        valence[key.strip()] = float(value)
                    except ValueError as exc:
                        raise FormatError(f"{path}, line {n}: valence entry {item.strip()!r} is not "
                                          "name=number") from exc
            continue
        if not text:
            continue
        fields = [f.strip() for f in re.split(r"[,\t;]", text)]
        if names is None:
            names = fields[1:]
            continue
        if len(fields) != len(names) + 1:
            raise FormatError(f"{path}, line {n}: {len(fields)} columns but {len(names) + 1} names in the "
                              "header; expected one value per name")
        try:
            rows.append([float(f) for f in fields])
        except ValueError as exc:
            raise FormatError(f"{path}, line {n}: {text!r} is not numeric") from exc
    if names is None or not rows:
        raise FormatError(f"{path}: no column header and data; expected 'energy_ev,<standard>,...'")
    data = np.array(rows)
    return data[:, 0], {n: data[:, i + 1] for i, n in enumerate(names)}, valence, edge


def load_library(path: str | Path, energy: np.ndarray | xr.DataArray | None = None) -> xr.DataArray:
    """Load a reference library (CSV or HDF5, see the module doc), resampled onto ``energy`` when given.

    Parameters
    ----------
    path : str or pathlib.Path
        The library file.
    energy : numpy.ndarray or xarray.DataArray, optional
        Energies to resample onto (eV), e.g. a stack's ``energy``; see :func:`resample_library`.

    Returns
    -------
    xarray.DataArray
        Standards ``(component, energy)`` with a ``valence`` coordinate, ``attrs`` ``edge``,
        ``source`` and ``history``.

    Raises
    ------
    FormatError
        If the file is missing or not a library, or a standard has no valence.
    EnergyError
        If the energies do not increase, or the library does not cover ``energy``.

    Examples
    --------
    >>> from redoxmap.data import mn_k_library_path
    >>> lib = load_library(mn_k_library_path())
    >>> lib.attrs["edge"], lib.valence.values.tolist()
    ('Mn K', [2.0, 3.0, 4.0, 4.0])
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: reference library not found")
    if path.suffix.lower() in (".h5", ".hdf5"):
        with _open_h5(path) as h5, _h5_errors(path):
            if "energy_ev" not in h5 or "standards" not in h5:
                raise FormatError(f"{path}: expected /energy_ev and /standards/<name> datasets")
            energy_ev = h5["energy_ev"][()]
            spectra = {n: d[()] for n, d in h5["standards"].items()}
            valence = {n: float(d.attrs["valence"]) for n, d in h5["standards"].items()
                       if "valence" in d.attrs}
            edge = str(h5.attrs.get("edge", ""))
        energy_ev = np.asarray(energy_ev, dtype=float)
        for name, spectrum in spectra.items():
            if not isinstance(name, str):  # h5py gives names that are not UTF-8 as bytes
                raise FormatError(f"{path}: standard name {name!r} is not UTF-8 text; expected names")
            if np.shape(spectrum) != energy_ev.shape or energy_ev.ndim != 1:
                raise FormatError(f"{path}: /standards/{name} has shape {np.shape(spectrum)} and /energy_ev "
                                  f"{energy_ev.shape}; expected one value per energy")
    else:
        energy_ev, spectra, valence, edge = _read_csv(path)
    check_increasing(energy_ev, str(path))
    lib = make_library(energy_ev, spectra, valence, edge)
    lib.attrs = with_history({"edge": edge, "source": str(path)}, "load_library", path=str(path))
    if energy is None:
        return lib
    return resample_library(lib, energy, str(path))


def resample_library(lib: xr.DataArray, energy: np.ndarray | xr.DataArray, source: str) -> xr.DataArray:
    """The library's standards on ``energy``, linearly interpolated; a standard that ends short of
    ``energy`` by less than one energy step is extended flat, anything more raises (see
    :func:`redoxmap.spectra.resample`).

    Parameters
    ----------
    lib : xarray.DataArray
        Library ``(component, energy)`` with a ``valence`` coordinate.
    energy : numpy.ndarray or xarray.DataArray
        Target energies (eV), increasing.
    source : str
        The library's file or name, for messages.

    Returns
    -------
    xarray.DataArray
        The library on ``energy``, with a history note if a standard was extended.

    Examples
    --------
    >>> lib = make_library(np.array([640.0, 641.0, 642.0]), {"MnO": np.array([0.1, 0.5, 1.0])},
    ...                    {"MnO": 2}, "Mn L3")
    >>> resample_library(lib, np.array([640.5, 641.5]), "example").values.round(6).tolist()
    [[0.3, 0.75]]
    """
    target = np.asarray(energy, dtype=float)
    values, note = resample(lib["energy"].values, lib.transpose("component", "energy").values,
                            target, source)
    out = xr.DataArray(values, dims=("component", "energy"),
                       coords={"component": lib["component"].values, "energy": target,
                               "valence": ("component", lib["valence"].values)},
                       attrs=dict(lib.attrs))
    out["energy"].attrs["units"] = "eV"
    if note:
        out.attrs = with_history(out.attrs, "note", text=note)
    return out
