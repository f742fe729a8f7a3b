"""Map values versus distance from the particle edge (Csernica et al., Nat. Energy 2021,
Fig. 2d–g: Mn3+ content versus distance from the particle edge, error bars from the weighted
standard error of the pixels in each bin)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from redoxmap.errors import MaskError


def weighted_mean_stderr(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted mean m = Σwx/Σw and its standard error SE = √(n/(n−1) · Σ w²(x − m)²) / Σw (the
    ratio-estimator form; equals s/√n for equal weights), as for the error bars of Csernica et al.
    2021, Fig. 2d–g.

    Parameters
    ----------
    values : numpy.ndarray
        The values x (1-D).
    weights : numpy.ndarray
        Their weights w ≥ 0, the shape of ``values``.

    Returns
    -------
    mean : float
        The weighted mean (NaN when Σw ≤ 0 or there is no value).
    stderr : float
        Its standard error (NaN with fewer than two values).

    Examples
    --------
    >>> m, se = weighted_mean_stderr(np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4))
    >>> m, round(se, 4)
    (2.5, 0.6455)
    """
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    n = values.size
    if n == 0 or weights.sum() <= 0:
        return float("nan"), float("nan")
    mean = float((weights * values).sum() / weights.sum())
    if n < 2:
        return mean, float("nan")
    se = np.sqrt(n / (n - 1) * (weights**2 * (values - mean) ** 2).sum()) / weights.sum()
    return mean, float(se)


def _binned_mean_stderr(group: np.ndarray, values: np.ndarray, weights: np.ndarray,
                       n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`weighted_mean_stderr` of the values in each group 0 … n_groups − 1, vectorised with
    ``np.bincount`` (two passes: the means, then Σ w²(x − m)²). Returns mean, standard error and
    count per group; a group with no value, or with Σw ≤ 0, has NaN mean and error, and one with a
    single value a NaN error, as in :func:`weighted_mean_stderr`.

    >>> _binned_mean_stderr(np.array([0, 0, 2]), np.array([1.0, 3.0, 5.0]), np.ones(3), 3)[0].tolist()
    [2.0, nan, 5.0]
    """
    group = np.asarray(group, np.intp)
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    count = np.bincount(group, minlength=n_groups)
    w_sum = np.bincount(group, weights, n_groups)
    weighted = w_sum > 0
    safe = np.where(weighted, w_sum, 1.0)
    mean = np.where(weighted, np.bincount(group, weights * values, n_groups) / safe, np.nan)
    spread = np.bincount(group, weights**2 * (values - mean[group]) ** 2, n_groups)
    several = weighted & (count > 1)
    factor = count / np.where(several, count - 1, 1)
    stderr = np.where(several, np.sqrt(factor * spread) / safe, np.nan)
    return mean, stderr, count


def edge_distance_profile(values: xr.DataArray, mask: xr.DataArray, pixel_size_nm: float,
                          bins_nm: np.ndarray, weights: xr.DataArray | None = None,
                          labels: xr.DataArray | None = None) -> xr.Dataset:
    """Weighted mean and standard error of a map in bins of distance from the mask's edge (Csernica et
    al. 2021, Fig. 2d–g: Mn3+ content versus distance from the particle edge).

    Distance is the Euclidean distance transform of the mask (N-D: maps or volumes), in nm, measured
    from the outside of the edge pixel (an edge pixel is at 0.5 px). Empty bins are NaN with
    ``count`` 0 — never 0. Mean and standard error in a bin are those of
    :func:`weighted_mean_stderr`.

    With ``labels``, the result also holds one profile per particle (label > 0), from the pixels of
    that label that are also in ``mask``, with the distance measured from that particle's own edge
    (the edge of its label region, so a particle touching another is measured from the contact line
    too). ``mean``, ``stderr`` and ``count`` stay the pooled profile of the whole mask, exactly as
    without labels.

    Parameters
    ----------
    values : xarray.DataArray
        The map (or volume), e.g. a fraction or valence.
    mask : xarray.DataArray
        Booleans of the particle(s), the shape of ``values``.
    pixel_size_nm : float
        Pixel (voxel) size (nm).
    bins_nm : numpy.ndarray
        Bin edges of distance from the edge (nm), increasing.
    weights : xarray.DataArray, optional
        Pixel weights (e.g. edge jump or thickness); default equal weights.
    labels : xarray.DataArray, optional
        Particle labels (0 background), e.g. from :func:`redoxmap.segment.label_particles`.

    Returns
    -------
    xarray.Dataset
        Over ``distance_nm`` (bin centres): ``mean``, ``stderr``, ``count``; with ``labels`` also
        ``particle_mean``, ``particle_stderr`` and ``particle_count`` over
        ``(particle, distance_nm)``.

    Raises
    ------
    MaskError
        If the mask selects no pixel, or the labels do not match the mask or hold no particle.

    Examples
    --------
    >>> disk = xr.DataArray(np.hypot(*(np.indices((9, 9)) - 4)) <= 3, dims=("y", "x"))
    >>> edge_distance_profile(disk * 1.0, disk, 10.0, np.arange(0, 40.0, 10))["count"].values.tolist()
    [20, 8, 1]
    """
    inside = np.asarray(mask, bool)
    if not inside.any():
        raise MaskError("the mask selects no pixel; expected a particle")
    bins_nm = np.asarray(bins_nm, float)
    n_bins = bins_nm.size - 1
    v_all = np.asarray(values, float)
    w_all = np.ones(inside.shape) if weights is None else np.asarray(weights, float)
    distance = (ndimage.distance_transform_edt(inside) - 0.5) * pixel_size_nm
    which = np.digitize(distance[inside], bins_nm) - 1
    keep = (which >= 0) & (which < n_bins)
    mean, stderr, count = _binned_mean_stderr(which[keep], v_all[inside][keep], w_all[inside][keep], n_bins)
    centres = (bins_nm[:-1] + bins_nm[1:]) / 2
    profile = xr.Dataset({"mean": ("distance_nm", mean), "stderr": ("distance_nm", stderr),
                          "count": ("distance_nm", count)}, coords={"distance_nm": centres},
                         attrs={"pixel_size_nm": pixel_size_nm})
    if labels is None:
        return profile
    lab = np.asarray(labels)
    if lab.shape != inside.shape:
        raise MaskError(f"labels have shape {lab.shape}; expected the mask's shape {inside.shape}")
    lab = np.where(lab > 0, lab, 0).astype(np.intp)
    ids = np.unique(lab[lab > 0])
    if ids.size == 0:
        raise MaskError("labels hold no particle (no label > 0); expected at least one")
    own = _own_edge_distance(lab, ids) * pixel_size_nm
    member = (lab > 0) & inside
    lookup = np.zeros(lab.max() + 1, np.intp)
    lookup[ids] = np.arange(ids.size)
    which = np.digitize(own[member], bins_nm) - 1
    keep = (which >= 0) & (which < n_bins)
    group = (lookup[lab[member]] * n_bins + which)[keep]
    p_mean, p_stderr, p_count = _binned_mean_stderr(group, v_all[member][keep], w_all[member][keep],
                                                   ids.size * n_bins)
    dims = ("particle", "distance_nm")
    return profile.assign({"particle_mean": (dims, p_mean.reshape(ids.size, n_bins)),
                           "particle_stderr": (dims, p_stderr.reshape(ids.size, n_bins)),
                           "particle_count": (dims, p_count.reshape(ids.size, n_bins))}
                          ).assign_coords(particle=ids)


def _own_edge_distance(lab: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Distance in pixels of each labelled pixel from the edge of its own label region (an edge pixel
    at 0.5 px, as for the mask), NaN elsewhere. Each label's distance transform is taken in its
    bounding box grown by one pixel within the array: every pixel of that ring is outside the label,
    so the nearest outside pixel of any label pixel lies in the grown box and the result equals the
    transform of the whole image."""
    own = np.full(lab.shape, np.nan)
    boxes = ndimage.find_objects(lab)
    for k in ids:
        box = tuple(slice(max(s.start - 1, 0), min(s.stop + 1, n)) for s, n in zip(boxes[k - 1], lab.shape,
                                                                                   strict=True))
        region = lab[box] == k
        own[box][region] = ndimage.distance_transform_edt(region)[region] - 0.5
    return own
