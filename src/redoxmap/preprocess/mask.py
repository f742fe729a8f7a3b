"""Particle masks."""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import xarray as xr
from skimage.filters import threshold_otsu

from redoxmap.errors import MaskError, MaskWarning
from redoxmap.preprocess.normalize import MIN_EDGE_ENERGIES, edge_jump, edge_step_weights

#: ``attrs["edge_jump"]`` of a mask by the edge step.
EDGE_STEP = "edge step (pre- and post-edge lines at E0)"

#: Bins of the histogram Otsu's threshold is chosen from (scikit-image's default).
OTSU_BINS = 256


def otsu_threshold(values: np.ndarray | da.Array, name: str = "edge-jump map") -> float | None:
    """Otsu's threshold of the finite ``values`` (Otsu 1979), or None with a
    :class:`~redoxmap.errors.MaskWarning` when the image cannot be split: all values (nearly) equal,
    e.g. one spectrum repeated, or one side of the threshold empty. None means: take every pixel.

    The threshold is the bin centre that maximizes the between-class variance of a
    :data:`OTSU_BINS`-bin histogram over [min, max] of the finite values (scikit-image's
    ``threshold_otsu``). A dask array is reduced chunk by chunk to that histogram (three passes:
    finite min and max, the histogram, the count above the threshold), never held whole; the
    histogram, hence the threshold, is the same as in memory to the last bit.

    Parameters
    ----------
    values : numpy.ndarray or dask.array.Array
        The image or volume to threshold (any shape); NaN and inf are ignored.
    name : str
        What the image is, for the warning.

    Returns
    -------
    float or None
        The threshold, or None when every pixel should be kept.

    Raises
    ------
    MaskError
        If no value is finite.

    Examples
    --------
    >>> values = np.array([0.0, 0.1, 1.0, 1.1])
    >>> (values > otsu_threshold(values)).tolist()
    [False, False, True, True]
    """
    if isinstance(values, da.Array):
        return _otsu_chunked(values, name)
    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        raise MaskError(f"the {name} has no finite value; expected at least one pixel with data")
    spread = np.ptp(finite)
    if spread <= 1e-9 * max(np.abs(finite).max(), 1e-300):
        warnings.warn(f"the {name} is uniform ({finite[0]:g} everywhere): Otsu's method cannot "
                      f"separate particle from background, so all {finite.size} pixels are used",
                      MaskWarning, stacklevel=2)
        return None
    threshold = float(threshold_otsu(finite))
    if not (finite > threshold).any() or (finite > threshold).all():
        warnings.warn(f"Otsu's threshold {threshold:g} of the {name} leaves one class empty, so all "
                      f"{finite.size} pixels are used", MaskWarning, stacklevel=2)
        return None
    return threshold



def _block_histogram(block: np.ndarray, low: float, high: float) -> np.ndarray:
    """Counts of the finite values of one block in the :data:`OTSU_BINS` bins over [low, high]."""
    values = np.asarray(block, float)
    return np.histogram(values[np.isfinite(values)], bins=OTSU_BINS, range=(low, high))[0]


def _otsu_chunked(values: da.Array, name: str) -> float | None:
    """:func:`otsu_threshold` of a dask array, from its histogram summed over the chunks."""
    import dask

    data = values.astype(float)
    finite = da.isfinite(data)
    count, low, high = dask.compute(finite.sum(), da.where(finite, data, np.inf).min(),
                                    da.where(finite, data, -np.inf).max())
    count, low, high = int(count), float(low), float(high)
    if count == 0:
        raise MaskError(f"the {name} has no finite value; expected at least one pixel with data")
    if high - low <= 1e-9 * max(abs(low), abs(high), 1e-300):
        warnings.warn(f"the {name} is uniform ({low:g} everywhere): Otsu's method cannot "
                      f"separate particle from background, so all {count} pixels are used",
                      MaskWarning, stacklevel=3)
        return None
    parts = [dask.delayed(_block_histogram)(block, low, high) for block in data.to_delayed().ravel()]
    counts = np.sum(dask.compute(*parts), axis=0)
    edges = np.linspace(low, high, OTSU_BINS + 1)
    threshold = float(threshold_otsu(hist=(counts, (edges[:-1] + edges[1:]) / 2.0)))
    above = int((data > threshold).sum().compute())
    if above in (0, count):
        warnings.warn(f"Otsu's threshold {threshold:g} of the {name} leaves one class empty, so all "
                      f"{count} pixels are used", MaskWarning, stacklevel=3)
        return None
    return threshold

def particle_mask(od: xr.DataArray, threshold_od: float | None = None,
                  e0_ev: float | None = None) -> xr.DataArray:
    """Pixels on the particle: edge jump (:func:`redoxmap.preprocess.edge_jump`) above
    ``threshold_od``, restricted to valid pixels. Without a threshold, Otsu's threshold (Otsu 1979)
    of the edge-jump map is used, or all pixels, with a warning, where Otsu cannot split the map.

    With fewer energies than an edge can be located from
    (:data:`~redoxmap.preprocess.normalize.MIN_EDGE_ENERGIES`, e.g. a sparse 3D XANES set of a few
    volumes), the edge jump is the two-point step OD(highest energy) − OD(lowest energy), which
    needs the lowest energy below the edge and the highest above it; ``attrs["edge_jump"]`` says
    which was used.

    Parameters
    ----------
    od : xarray.DataArray
        Optical density ``(energy, y, x)`` (or ``(energy, z, y, x)``).
    threshold_od : float, optional
        Edge jump (OD) above which a pixel is on the particle; default Otsu's threshold.
    e0_ev : float, optional
        E0 (eV) of the edge jump; default that of the stack's mean spectrum.

    Returns
    -------
    xarray.DataArray
        Booleans over the spatial dims with ``threshold_od``, ``e0_ev`` (NaN for the two-point
        step) and ``edge_jump`` in the attributes.

    Raises
    ------
    MaskError
        If there are fewer than two energies or no pixel passes the threshold.

    Examples
    --------
    >>> from redoxmap.simulate import demo_dataset
    >>> mask = particle_mask(demo_dataset(shape=(32, 32)).stack)
    >>> mask.dims, int(mask.sum())
    (('y', 'x'), 280)
    >>> sparse = demo_dataset(shape=(32, 32)).stack.sel(energy=[6530.0, 6560.0, 6600.0])
    >>> particle_mask(sparse).attrs["edge_jump"]
    'OD(6600 eV) - OD(6530 eV)'
    """
    n_energies = od.sizes.get("energy", 0)
    if n_energies < 2:
        raise MaskError(f"{n_energies} energies; expected at least two, below and above the edge, "
                        "for the edge jump of the particle mask")
    if n_energies >= MIN_EDGE_ENERGIES:
        jump = edge_jump(od, e0_ev=e0_ev)
        e0, how = jump.attrs["e0_ev"], EDGE_STEP
    else:
        energy = np.asarray(od["energy"].values, float)
        low, high = float(energy.min()), float(energy.max())
        jump = od.sel(energy=high) - od.sel(energy=low)
        e0, how = float("nan"), f"OD({high:g} eV) - OD({low:g} eV)"
    jump = jump.compute()  # a map, one value per pixel: computed once for the threshold and the mask
    return edge_jump_mask(jump, threshold_od=threshold_od, e0_ev=e0, how=how)


def edge_jump_weights(energy_ev: np.ndarray, e0_ev: float) -> tuple[np.ndarray, float, str]:
    """The edge jump that :func:`particle_mask` thresholds, as a linear function of each spectrum,
    J = Σ_E a(E) OD(E) + b: the edge step at ``e0_ev``
    (:func:`redoxmap.preprocess.normalize.edge_step_weights`) or, with fewer than
    :data:`~redoxmap.preprocess.normalize.MIN_EDGE_ENERGIES` energies, the two-point step
    OD(highest energy) − OD(lowest energy). Computing J in the pass that fits the spectra saves
    reading a stack twice (:func:`edge_jump_mask` then thresholds the map).

    Parameters
    ----------
    energy_ev : numpy.ndarray
        The energies of the spectra (eV), ascending.
    e0_ev : float
        E0 (eV) of the edge step, e.g. :func:`redoxmap.preprocess.edge_energy` of the stack; not
        used for the two-point step.

    Returns
    -------
    tuple
        ``(a, b, how)``: one weight per energy, the offset, and what the jump is (as
        ``attrs["edge_jump"]`` of :func:`particle_mask`).

    Examples
    --------
    >>> a, b, how = edge_jump_weights(np.array([6530.0, 6560.0, 6600.0]), float("nan"))
    >>> a.tolist(), b, how
    ([-1.0, 0.0, 1.0], 0.0, 'OD(6600 eV) - OD(6530 eV)')
    """
    energy = np.asarray(energy_ev, float)
    if energy.size >= MIN_EDGE_ENERGIES:
        a, b = edge_step_weights(energy, e0_ev)
        return a, b, EDGE_STEP
    a = np.zeros(energy.size)
    a[np.argmax(energy)], a[np.argmin(energy)] = 1.0, -1.0
    return a, 0.0, f"OD({energy.max():g} eV) - OD({energy.min():g} eV)"


def edge_jump_mask(jump: xr.DataArray, threshold_od: float | None = None, e0_ev: float = float("nan"),
                   how: str = EDGE_STEP) -> xr.DataArray:
    """Pixels whose edge jump is above ``threshold_od`` (default Otsu's threshold of the map, or all
    pixels where Otsu cannot split it, with a warning), restricted to the ``valid`` pixels if
    ``jump`` has that coordinate: the thresholding of :func:`particle_mask`, given the map.

    Parameters
    ----------
    jump : xarray.DataArray
        The edge jump (OD) per pixel, in memory.
    threshold_od : float, optional
        Edge jump (OD) above which a pixel is on the particle; default Otsu's threshold.
    e0_ev : float
        E0 (eV) the edge jump was taken at (NaN for the two-point step), for the attributes.
    how : str
        What the edge jump is, for the attributes.

    Returns
    -------
    xarray.DataArray
        Booleans over the map's dims with ``threshold_od``, ``e0_ev`` and ``edge_jump`` in the
        attributes.

    Raises
    ------
    MaskError
        If no pixel passes the threshold.

    Examples
    --------
    >>> jump = xr.DataArray(np.array([[0.0, 0.1], [1.0, 1.1]]), dims=("y", "x"))
    >>> edge_jump_mask(jump).values.tolist()
    [[False, False], [True, True]]
    """
    values = np.asarray(jump.values)
    if threshold_od is None:
        auto = otsu_threshold(values)
        threshold_od = float(np.nanmin(values)) - 1.0 if auto is None else auto
    mask = jump > threshold_od
    if "valid" in jump.coords:
        mask = mask & jump.coords["valid"]
    mask = mask.reset_coords(drop=True)
    if not bool(mask.any()):
        raise MaskError(
            f"particle mask is empty: no pixel has an edge jump above {threshold_od:g} OD "
            f"(largest edge jump {float(np.nanmax(values)):g}); expected a lower threshold"
        )
    mask.attrs = {"long_name": "particle mask", "threshold_od": float(threshold_od), "e0_ev": e0_ev,
                  "edge_jump": how}
    return mask
