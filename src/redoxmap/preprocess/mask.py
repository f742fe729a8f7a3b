"""Particle masks."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from skimage.filters import threshold_otsu

from redoxmap.errors import MaskError, MaskWarning
from redoxmap.preprocess.normalize import edge_jump


def otsu_threshold(values: np.ndarray, name: str = "edge-jump map") -> float | None:
    """Otsu's threshold of the finite ``values`` (Otsu 1979), or None with a
    :class:`~redoxmap.errors.MaskWarning` when the image cannot be split: all values (nearly) equal,
    e.g. one spectrum repeated, or one side of the threshold empty. None means: take every pixel.

    Parameters
    ----------
    values : numpy.ndarray
        The image to threshold (any shape); NaN and inf are ignored.
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


def particle_mask(od: xr.DataArray, threshold_od: float | None = None,
                  e0_ev: float | None = None) -> xr.DataArray:
    """Pixels on the particle: edge jump (:func:`redoxmap.preprocess.edge_jump`) above
    ``threshold_od``, restricted to valid pixels. Without a threshold, Otsu's threshold (Otsu 1979)
    of the edge-jump map is used, or all pixels, with a warning, where Otsu cannot split the map.

    Parameters
    ----------
    od : xarray.DataArray
        Optical density ``(energy, y, x)``.
    threshold_od : float, optional
        Edge jump (OD) above which a pixel is on the particle; default Otsu's threshold.
    e0_ev : float, optional
        E0 (eV) of the edge jump; default that of the stack's mean spectrum.

    Returns
    -------
    xarray.DataArray
        ``(y, x)`` booleans with ``threshold_od`` and ``e0_ev`` in the attributes.

    Raises
    ------
    MaskError
        If no pixel passes the threshold.

    Examples
    --------
    >>> from redoxmap.simulate import demo_dataset
    >>> mask = particle_mask(demo_dataset(shape=(32, 32)).stack)
    >>> mask.dims, int(mask.sum())
    (('y', 'x'), 280)
    """
    jump = edge_jump(od, e0_ev=e0_ev).compute()  # one pass over a dask stack; the map is small
    values = np.asarray(jump.values)
    if threshold_od is None:
        auto = otsu_threshold(values)
        threshold_od = float(np.nanmin(values)) - 1.0 if auto is None else auto
    mask = jump > threshold_od
    if "valid" in od.coords:
        mask = mask & od.coords["valid"]
    mask = mask.reset_coords(drop=True)
    if not bool(mask.any()):
        raise MaskError(
            f"particle mask is empty: no pixel has an edge jump above {threshold_od:g} OD "
            f"(largest edge jump {float(np.nanmax(values)):g}); expected a lower threshold"
        )
    mask.attrs = {"long_name": "particle mask", "threshold_od": float(threshold_od),
                  "e0_ev": jump.attrs["e0_ev"]}
    return mask
