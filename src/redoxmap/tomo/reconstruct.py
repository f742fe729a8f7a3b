"""Reconstruction behind one function, :func:`reconstruct`.

- ``gridrec`` (default): filtered back-projection in Fourier space — each projection's spectrum
  times a filter (ramp × linear-interpolation response by default, as ``fbp``; ramp, Shepp–Logan,
  cosine, Hann, Parzen, with a cutoff), gridded onto the
  slice's Fourier grid by a non-uniform FFT (Dowd et al., Proc. SPIE 3772, 224 (1999);
  :mod:`redoxmap.tomo.gridrec`). O(n² log n) per slice: a 1024² slice from 1000 views in ~0.2 s
  on one core, ~80× faster than ``fbp``, its RMSE on Shepp–Logan 1.04× ``fbp``'s noise-free and
  0.92× at 1e4 counts (docs/tomography.md).
- ``fbp``: filtered back-projection (ramp filter) by scikit-image ``iradon`` slice by slice,
  O(n² n_angle) per slice; kept as the reference.
- ``sirt``, ``cgls``, ``sirt-tv``, ``tv``: iterative methods on a projector pair
  (:mod:`redoxmap.tomo.iterative`): SIRT (Gregor & Benson, IEEE TMI 27, 918 (2008)), CGLS, SIRT with
  a Chambolle TV denoising step after each iteration, and total-variation regularised least
  squares, argmin_{x ≥ 0 in support} ½‖A x − b‖² + λ TV(x) with isotropic 3D TV (Pock & Chambolle,
  ICCV 2011; for CT Sidky, Jørgensen & Pan, Phys. Med. Biol. 57, 3065 (2012)) — the method for a
  limited-angle tilt series, where the missing wedge blurs edges along the unseen direction and TV
  restores piecewise-constant regions (Sidky & Pan, Phys. Med. Biol. 53, 4777 (2008)). The
  projector is the sparse system matrix for small slabs and the matrix-free Fourier projector
  (:mod:`redoxmap.tomo.radon`) beyond, so memory is the slab and a few copies of it.
Projections are −ln(I/I0), dims ``(angle, y, x)`` (y the detector row = volume slice z); the
result is ``(z, y, x)`` in attenuation per voxel.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import dask.array as da
import numpy as np
import xarray as xr
from skimage.transform import iradon

from redoxmap.errors import FitError, FormatError
from redoxmap.history import with_history
from redoxmap.preprocess.align import shift_images
from redoxmap.tomo.gridrec import _check_filter, _gridrec_block
from redoxmap.tomo.iterative import PROJECTORS, _iterative_block

#: Reconstruction methods of :func:`reconstruct`.
METHODS = ("gridrec", "fbp", "sirt", "cgls", "sirt-tv", "tv")
_ITERATIVE = ("sirt", "cgls", "sirt-tv", "tv")

#: Smallest detector width (px) at which in-memory reconstruction threads its transforms by
#: default: at 128² two threads cost 3× the CPU time of one for the same work (48 slices from
#: 131 views, Fourier projector), at 256² and 512² 1.0–1.3× (measured on the 2-core machine, loaded).
THREADED_MIN_PX = 256

#: Default ``tv_weight`` per method when none is given.
DEFAULT_TV_WEIGHT = {"sirt-tv": 0.005, "tv": 0.5}


def _check(projections: xr.DataArray) -> None:
    missing = [d for d in ("angle", "y", "x") if d not in projections.dims]
    if missing:
        raise FormatError(f"projections have dims {projections.dims}; expected 'angle', 'y', 'x'")
    if projections.sizes["angle"] != projections["angle"].size or projections.sizes["angle"] < 2:
        raise FormatError("projections need at least 2 angles with an 'angle' coordinate in degrees")


def _fbp_block(block: np.ndarray, angles_deg: np.ndarray, center_px: float | None = None) -> np.ndarray:
    """FBP of projections (angle, z, det) → volume (z, det, det) by scikit-image's ``iradon``, after
    moving the rotation axis to detector position det // 2 (where ``iradon`` expects it)."""
    block = np.asarray(block, dtype=np.float64)
    if center_px is not None:
        block = shift_images(block, np.array([0.0, block.shape[-1] // 2 - center_px]))
    out = np.empty((block.shape[1], block.shape[2], block.shape[2]), np.float32)
    for k in range(block.shape[1]):
        out[k] = iradon(block[:, k, :].T, theta=angles_deg, filter_name="ramp", circle=True)
    return out


class _Counter:
    """``progress(done, total)`` shared by the slabs that dask reconstructs in parallel threads."""

    def __init__(self, progress: Callable[[int, int], None] | None, total: int):
        self.progress, self.total, self.done = progress, total, 0
        self._lock = threading.Lock()
        if progress is not None:
            progress(0, total)

    def __getstate__(self) -> dict:
        """Sent to a dask.distributed worker (another process or node): nothing is reported there."""
        return {"progress": None, "total": self.total, "done": self.done}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def add(self, count: int = 1) -> None:
        if self.progress is None:
            return
        with self._lock:
            self.done += count
            self.progress(min(self.done, self.total), self.total)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def reconstruct(projections: xr.DataArray, method: str = "gridrec", center_px: float | None = None,
                iterations: int = 100, tv_weight: float | None = None, slices_per_chunk: int | None = None,
                progress: Callable[[int, int], None] | None = None,
                support: xr.DataArray | np.ndarray | None = None, filter_name: str | None = None,
                cutoff: float = 1.0, projector: str = "auto", threads: int | None = None) -> xr.DataArray:
    """Reconstruct −ln projections ``(…, angle, y, x)`` into volumes ``(…, z, y, x)``, slice by slice.

    ``gridrec`` is filtered back-projection, f = (π / n_angle) Aᵀ F⁻¹[H · F p] (Kak & Slaney 1988,
    ch. 3, Eq. 45), done in Fourier space (Dowd et al., Proc. SPIE 3772, 224 (1999)); ``fbp`` the
    same by scikit-image's ``iradon`` (O(n² n_angle) per slice, kept as the reference); the
    iterative methods are SIRT (Gregor & Benson, IEEE TMI 27, 918 (2008)), CGLS, SIRT-TV and
    TV-regularised least squares argmin_{x ≥ 0 in support} ½‖A x − b‖² + λ TV(x) (Pock & Chambolle,
    ICCV 2011; Sidky, Jørgensen & Pan, Phys. Med. Biol. 57, 3065 (2012)), the method for a
    limited-angle tilt series, e.g. ``reconstruct(proj, "tv", iterations=250,
    support=visual_hull(proj))``. Measured choices and numbers: docs/tomography.md.

    Parameters
    ----------
    projections : xarray.DataArray
        −ln(I/I0) with dims ``(angle, y, x)`` (y the detector row = volume slice z) and any leading
        dims (e.g. energy), angles in degrees as the ``angle`` coordinate; NumPy or dask.
    method : str
        One of :data:`METHODS`: ``"gridrec"`` (the default for full scans: a 1024² slice from 1000
        views in ~0.2 s on one core, ~80× ``iradon``, RMSE 1.04× of ``iradon``'s noise-free and
        0.92× at 1e4 counts), ``"fbp"``, ``"sirt"``, ``"cgls"``, ``"sirt-tv"``, ``"tv"``.
    center_px : float, optional
        Detector position of the rotation axis (px, sub-pixel; from
        :func:`redoxmap.tomo.find_center`); default ``n_x // 2``.
    iterations : int
        Iterations of the iterative methods.
    tv_weight : float, optional
        ``sirt-tv``: weight of the Chambolle TV step relative to the volume's 99th percentile
        (default 0.005); ``tv``: λ relative to the mean attenuation per voxel in the support
        (default 0.5), computed per block of slices when the volume is chunked.
    slices_per_chunk : int, optional
        Reconstruct slabs of this many slices as a dask array (so the volume can stream to Zarr
        without being held in memory); dask-backed projections are chunked as they come.
    progress : callable, optional
        ``progress(done, total)``: called with ``done = 0`` before any work, then after each call of
        the FBP kernel (slices done) or after each iteration of each slab (iterative methods; total
        = iterations × slabs), also from dask's worker threads.
    support : xarray.DataArray or numpy.ndarray, optional
        Boolean ``(z, y, x)`` volume outside which voxels are held at zero (iterative methods), e.g.
        :func:`redoxmap.tomo.visual_hull` for a limited-angle tilt series.
    filter_name : str, optional
        ``gridrec`` only: one of :data:`redoxmap.tomo.FILTERS`; default ``"linear"`` (the ramp times
        linear interpolation's response: ``fbp``'s resolution with a little less noise; the plain
        ``"ramp"`` is sharper and ~1.45× noisier), see :func:`redoxmap.tomo.filter_response`.
    cutoff : float
        ``gridrec`` only: filter cutoff as a fraction of the Nyquist frequency (0 < cutoff ≤ 1).
    projector : str
        Iterative methods: ``"sparse"`` (system matrix, 8 bytes per non-zero, 2 n_angle · 0.79 n²
        of them), ``"fourier"`` (matrix-free: memory the slab and a few copies) or ``"auto"``
        (sparse for small slices and few angles, where it was measured faster;
        :func:`redoxmap.tomo.make_projector`).
    threads : int, optional
        Threads of the non-uniform FFTs per slab (``gridrec`` and the Fourier projector); default
        all cores for in-memory projections at least :data:`THREADED_MIN_PX` wide, else 1, and 1
        per slab when dask computes slabs in parallel.

    Returns
    -------
    xarray.DataArray
        Volume ``(…, z, y, x)`` in attenuation per voxel (float32; lazy when chunked), with the
        settings in its history and the ``energy`` coordinate of the projections.

    Raises
    ------
    FitError
        If ``method``, ``projector``, ``filter_name`` or ``cutoff`` is not a known choice, or a
        filter is given for a method other than ``gridrec``.
    FormatError
        If the projections lack ``angle``, ``y``, ``x`` or have fewer than 2 angles, or ``support``
        has the wrong shape or comes with a non-iterative method.

    Examples
    --------
    >>> angles = np.linspace(0, 180, 90, endpoint=False)
    >>> chord = 2 * np.sqrt(np.clip(64 - (np.arange(32) - 16.0) ** 2, 0, None))  # a disc, μ = 1/px
    >>> proj = xr.DataArray(np.tile(chord, (90, 2, 1)), dims=("angle", "y", "x"),
    ...                     coords={"angle": angles})
    >>> volume = reconstruct(proj)
    >>> volume.dims, round(float(volume[0, 16, 16]), 1)
    (('z', 'y', 'x'), 1.0)
    """
    if method not in METHODS:
        raise FitError(f"method {method!r} is not one of {', '.join(METHODS)}")
    if method != "gridrec" and (filter_name is not None or cutoff != 1.0):
        raise FitError(f"filter {filter_name!r} with cutoff {cutoff} was given for method {method!r}; "
                       "filters apply to 'gridrec' only")
    if method == "gridrec":
        filter_name = filter_name or "linear"
        _check_filter(filter_name, cutoff)
    if projector not in PROJECTORS:
        raise FitError(f"projector {projector!r} is not one of {', '.join(PROJECTORS)}")
    _check(projections)
    if tv_weight is None:
        tv_weight = DEFAULT_TV_WEIGHT.get(method, 0.0)
    if support is not None:
        expected = (projections.sizes["y"], projections.sizes["x"], projections.sizes["x"])
        if method not in _ITERATIVE or np.shape(support) != expected:
            raise FormatError(f"support has shape {np.shape(support)} for method {method!r}; expected a "
                              f"(z, y, x) = {expected} mask and an iterative method")
        support = np.asarray(support, bool)
    angles = np.asarray(projections["angle"].values, float)
    lead = [d for d in projections.dims if d not in ("angle", "y", "x")]
    if lead:
        return xr.concat([reconstruct(projections.sel({lead[0]: v}), method, center_px, iterations,
                                      tv_weight, slices_per_chunk, progress, support, filter_name, cutoff,
                                      projector, threads)
                          for v in projections[lead[0]].values], dim=lead[0])
    data = projections.transpose("angle", "y", "x").data
    n_det, n_z = projections.sizes["x"], projections.sizes["y"]
    chunked = isinstance(data, da.Array) or bool(slices_per_chunk)
    n_threads = threads or (1 if chunked or n_det < THREADED_MIN_PX else _cores())
    if chunked:
        data = da.asarray(data).rechunk({0: -1, 1: slices_per_chunk or "auto", 2: -1})
    n_slabs = len(data.chunks[1]) if chunked else 1
    counter = _Counter(progress, iterations * n_slabs if method in _ITERATIVE else n_z)

    def kernel(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        if method in ("gridrec", "fbp"):
            out = (_gridrec_block(block, angles, center_px, filter_name, cutoff, n_threads)
                   if method == "gridrec" else _fbp_block(block, angles, center_px))
            counter.add(block.shape[1])
            return out
        part = None
        if support is not None:
            start, stop = block_info[0]["array-location"][1] if block_info else (0, block.shape[1])
            part = support[start:stop]
        return _iterative_block(block, angles, center_px, method, iterations, tv_weight,
                                lambda _: counter.add(), support=part, projector=projector,
                                threads=n_threads)

    if chunked:
        volume = data.map_blocks(kernel, drop_axis=0, new_axis=2,
                                 chunks=(data.chunks[1], (n_det,), (n_det,)), dtype=np.float32,
                                 meta=np.empty((0, 0, 0), np.float32))  # no trial call on empty blocks
    elif method in ("gridrec", "fbp"):
        block = np.asarray(data)
        volume = np.empty((n_z, n_det, n_det), np.float32)
        step = 16 if method == "gridrec" else 1  # slices per call: two per transform, progress per call
        for k in range(0, n_z, step):
            volume[k:k + step] = kernel(block[:, k:k + step, :])
    else:
        volume = kernel(np.asarray(data))
    settings = {"filter_name": filter_name, "cutoff": cutoff} if method == "gridrec" else {}
    if method in _ITERATIVE:
        settings = {"iterations": iterations, "tv_weight": tv_weight, "support": support is not None,
                    "projector": projector}
    out = xr.DataArray(volume, dims=("z", "y", "x"),
                       attrs=with_history(projections.attrs, "reconstruct", method=method,
                                          center_px=center_px, **settings))
    out.attrs.update(units="1/voxel", long_name="linear attenuation per voxel")
    for name in ("energy",):
        if name in projections.coords:
            out = out.assign_coords({name: projections[name]})
    return out
