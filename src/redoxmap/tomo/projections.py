"""Preparing projections: ring (stripe) suppression, single-distance phase retrieval, and
registration of the projections of two energies before they are subtracted."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage
from skimage.registration import phase_cross_correlation

from redoxmap.errors import FitError
from redoxmap.history import with_history
from redoxmap.preprocess.align import shift_images

#: h·c in eV·nm (CODATA 2018).
HC_EV_NM = 1239.841984


def remove_stripes(projections: xr.DataArray, width_px: int = 5) -> xr.DataArray:
    """Suppress ring artefacts: a detector column that is off by a constant shows as a stripe in
    every sinogram (a ring in the slice). Its offset is the column's mean over angles minus a
    median filter of that mean along the detector; it is subtracted from every projection.
    ``width_px`` must exceed the widest stripe and stay below the object's features.

    Parameters
    ----------
    projections : xarray.DataArray
        −ln projections ``(angle, y, x)``.
    width_px : int
        Width of the median filter along the detector (px).

    Returns
    -------
    xarray.DataArray
        Corrected projections ``(angle, y, x)``.
    """
    data = projections.transpose("angle", "y", "x")
    mean = data.mean("angle").values
    smooth = ndimage.median_filter(mean, size=(1, width_px), mode="nearest")
    out = data - xr.DataArray(mean - smooth, dims=("y", "x"))
    out.attrs = with_history(projections.attrs, "remove_stripes", width_px=width_px)
    return out


def paganin(transmission: xr.DataArray, formula: str, density_g_cm3: float, energy_ev: float,
            distance_mm: float, pixel_size_nm: float) -> xr.DataArray:
    """Single-distance phase retrieval (Paganin et al., J. Microsc. 206, 33 (2002)) for a
    homogeneous object: T = F⁻¹[F(I/I0) / (1 + π λ z (δ/β) |k|²)], returned as −ln T (μ·thickness),
    with δ and β of the stated composition from xraydb.

    Parameters
    ----------
    transmission : xarray.DataArray
        I/I0 with dims ``(…, y, x)``.
    formula : str
        Composition, e.g. ``"LiMnO2"``.
    density_g_cm3 : float
        Its density (g/cm³).
    energy_ev : float
        Photon energy (eV).
    distance_mm : float
        Propagation distance, sample to detector (mm).
    pixel_size_nm : float
        Detector pixel size at the sample (nm).

    Returns
    -------
    xarray.DataArray
        −ln T = μ · thickness, same dims.

    Raises
    ------
    FitError
        If ``distance_mm`` or ``pixel_size_nm`` is not positive.
    """
    import xraydb

    if distance_mm <= 0 or pixel_size_nm <= 0:
        raise FitError("distance_mm and pixel_size_nm must be positive")
    delta, beta, _ = xraydb.xray_delta_beta(formula, density_g_cm3, energy_ev)
    wavelength_nm = HC_EV_NM / energy_ev
    ny, nx = transmission.sizes["y"], transmission.sizes["x"]
    pad_y, pad_x = ny // 2, nx // 2  # edge padding keeps the periodic FFT from wrapping edges
    ny, nx = ny + 2 * pad_y, nx + 2 * pad_x
    ky = np.fft.fftfreq(ny, d=pixel_size_nm)
    kx = np.fft.fftfreq(nx, d=pixel_size_nm)
    k2 = (2 * np.pi) ** 2 * (ky[:, None] ** 2 + kx[None, :] ** 2)  # 1/nm²
    filt = 1.0 / (1.0 + wavelength_nm * distance_mm * 1e6 * (delta / beta) * k2 / (4 * np.pi))
    values = np.asarray(transmission.transpose(..., "y", "x").values, float)
    pad = [(0, 0)] * (values.ndim - 2) + [(pad_y, pad_y), (pad_x, pad_x)]
    padded = np.pad(values, pad, mode="edge")
    filtered = np.real(np.fft.ifft2(np.fft.fft2(padded, axes=(-2, -1)) * filt, axes=(-2, -1)))
    filtered = filtered[..., pad_y:ny - pad_y, pad_x:nx - pad_x]
    out = transmission.transpose(..., "y", "x").copy(data=-np.log(np.clip(filtered, 1e-6, None)))
    out.attrs = with_history(transmission.attrs, "paganin", formula=formula, delta_over_beta=delta / beta,
                             energy_ev=energy_ev, distance_mm=distance_mm, pixel_size_nm=pixel_size_nm)
    return out


def register_energies(reference: xr.DataArray, moving: xr.DataArray, upsample: int = 20) -> xr.DataArray:
    """Shift ``moving`` projections (angle, y, x) onto ``reference`` by one global (y, x) shift
    found on their angle-summed images (the sample stage moves between energy scans, the
    rotation does not), by upsampled phase correlation (Guizar-Sicairos et al., Opt. Lett. 33, 156
    (2008)) and :func:`redoxmap.preprocess.shift_images`.

    Parameters
    ----------
    reference, moving : xarray.DataArray
        Projections ``(angle, y, x)`` of the same scan geometry at two energies.
    upsample : int
        Shifts resolved to 1/``upsample`` px.

    Returns
    -------
    xarray.DataArray
        ``moving`` shifted; the shift (y, x) in px in ``attrs['registration_shift_px']``.

    Raises
    ------
    FitError
        If the two sets differ in size.
    """
    if reference.sizes != moving.sizes:
        raise FitError(f"projection sets differ in size {dict(reference.sizes)} vs {dict(moving.sizes)}")
    a = reference.transpose("angle", "y", "x").sum("angle").values
    b = moving.transpose("angle", "y", "x").sum("angle").values
    shift, _, _ = phase_cross_correlation(a, b, upsample_factor=upsample, normalization=None)
    data = moving.transpose("angle", "y", "x").values
    moved = shift_images(data, shift)
    out = moving.transpose("angle", "y", "x").copy(data=moved)
    out.attrs = with_history(moving.attrs, "register_energies", shift_px=[float(s) for s in shift])
    out.attrs["registration_shift_px"] = [float(s) for s in shift]
    return out
