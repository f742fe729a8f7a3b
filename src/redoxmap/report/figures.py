"""Figures of fitted maps, one function per figure. Each takes labelled arrays and returns a
:class:`matplotlib.figure.Figure` (no pyplot state), ready for ``savefig`` at 150 dpi or more."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

#: Scale-bar lengths tried, in nm (the longest under ~1/4 of the image width is drawn).
_BAR_NM = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)


def _scale_bar(ax, width_px: int, pixel_size_nm: float | None) -> None:
    if not pixel_size_nm:
        return
    fitting = [b for b in _BAR_NM if b / pixel_size_nm <= width_px / 4]
    if not fitting:
        return
    length_nm = fitting[-1]
    label = f"{length_nm / 1000:g} µm" if length_nm >= 1000 else f"{length_nm:g} nm"
    bar = AnchoredSizeBar(ax.transData, length_nm / pixel_size_nm, label, "lower right",
                          pad=0.4, color="white", frameon=False, size_vertical=max(width_px / 150, 1),
                          label_top=True)
    bar.set_gid("scale_bar")
    ax.add_artist(bar)


def _map(data: xr.DataArray, mask: xr.DataArray, title: str, label: str, cmap: str,
         pixel_size_nm: float | None, norm=None, vmin=None, vmax=None) -> Figure:
    fig = Figure(figsize=(5.2, 4.4), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    shown = np.ma.masked_where(~np.asarray(mask, bool), np.asarray(data, float))
    ax.set_facecolor("0.25")
    image = ax.imshow(shown, cmap=cmap, norm=norm, vmin=None if norm else vmin,
                      vmax=None if norm else vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label=label, shrink=0.9)
    _scale_bar(ax, data.shape[-1], pixel_size_nm)
    return fig


def fraction_map(maps: xr.Dataset, component: str, pixel_size_nm: float | None = None) -> Figure:
    """Phase fraction of one component over the mask (grey outside), on a 0–1 colour scale (Wang et al.
    2021, Eq. 2).

    Parameters
    ----------
    maps : xarray.Dataset
        Output of :func:`redoxmap.fit.lincomb` or :func:`redoxmap.fit.valence_map` (``mask`` needed).
    component : str
        The component shown.
    pixel_size_nm : float, optional
        Pixel size (nm) for a scale bar; none without it.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (no pyplot state).

    Examples
    --------
    >>> from redoxmap.fit import lincomb
    >>> from redoxmap.simulate import demo_dataset
    >>> sim = demo_dataset(shape=(32, 32))
    >>> fraction_map(lincomb(sim.stack, sim.refs), "cycled", pixel_size_nm=20.0).axes[0].get_title()
    'cycled fraction'
    """
    return _map(maps.fraction.sel(component=component), maps["mask"], f"{component} fraction",
                f"{component} fraction", "viridis", pixel_size_nm, vmin=0.0, vmax=1.0)


def difference_map(maps: xr.Dataset, component: str, pixel_size_nm: float | None = None) -> Figure:
    """Fraction of one component minus its mean over the mask, in diverging colours centred at 0.

    Parameters
    ----------
    maps : xarray.Dataset
        Output of :func:`redoxmap.fit.lincomb` or :func:`redoxmap.fit.valence_map` (``mask`` needed).
    component : str
        The component shown.
    pixel_size_nm : float, optional
        Pixel size (nm) for a scale bar; none without it.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (no pyplot state).
    """
    diff = maps.difference_from_mean.sel(component=component)
    limit = float(np.nanmax(np.abs(diff.where(maps["mask"]).values))) or 1.0
    return _map(diff, maps["mask"], f"{component}: difference from the mean state",
                f"Δ fraction (mean {float(maps.mean_fraction.sel(component=component)):.3f})",
                "RdBu_r", pixel_size_nm, norm=TwoSlopeNorm(0.0, -limit, limit))


def r_factor_map(maps: xr.Dataset, pixel_size_nm: float | None = None) -> Figure:
    """Misfit R = Σ(data − fit)² / Σ data² per pixel (Wang et al. 2021, Methods, Eq. 3), coloured up
    to its 99th percentile over the mask.

    Parameters
    ----------
    maps : xarray.Dataset
        Output of :func:`redoxmap.fit.lincomb` or :func:`redoxmap.fit.valence_map` (``mask`` needed).
    pixel_size_nm : float, optional
        Pixel size (nm) for a scale bar; none without it.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (no pyplot state).
    """
    r = maps.r_factor
    top = float(np.nanpercentile(r.where(maps["mask"]).values, 99))
    return _map(r, maps["mask"], "misfit R", "R = Σ(data − fit)² / Σ data²", "magma",
                pixel_size_nm, vmin=0.0, vmax=top or None)


def valence_map_figure(maps: xr.Dataset, pixel_size_nm: float | None = None) -> Figure:
    """Effective valence Σ f_k v_k over the mask.

    Parameters
    ----------
    maps : xarray.Dataset
        Output of :func:`redoxmap.fit.valence_map` (``valence`` and ``mask`` needed).
    pixel_size_nm : float, optional
        Pixel size (nm) for a scale bar; none without it.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (no pyplot state).
    """
    return _map(maps.valence, maps["mask"], "effective valence", "valence", "plasma", pixel_size_nm)


def edge_energy_figure(maps: xr.Dataset, pixel_size_nm: float | None = None) -> Figure:
    """Edge energy (eV) over the mask, coloured from its 1st to 99th percentile.

    Parameters
    ----------
    maps : xarray.Dataset
        Maps with ``edge_energy`` (eV) and ``mask``.
    pixel_size_nm : float, optional
        Pixel size (nm) for a scale bar; none without it.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (no pyplot state).
    """
    values = maps.edge_energy.where(maps["mask"]).values
    lo, hi = np.nanpercentile(values, [1, 99])
    return _map(maps.edge_energy, maps["mask"], "edge energy", "edge energy (eV)", "cividis",
                pixel_size_nm, vmin=lo, vmax=hi)


def valence_histogram(maps: xr.Dataset) -> Figure:
    """Histogram of the effective valence over the mask, with its mean and the median 1σ error.

    Parameters
    ----------
    maps : xarray.Dataset
        Maps with ``valence``, ``valence_err`` and ``mask`` (:func:`redoxmap.fit.valence_map`).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (no pyplot state).
    """
    mask = np.asarray(maps["mask"], bool)
    values = maps.valence.values[mask]
    fig = Figure(figsize=(5.0, 3.6), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    ax.hist(values, bins=60, color="tab:purple", alpha=0.8,
            label=f"mean {values.mean():.3f}, median 1σ {np.median(maps.valence_err.values[mask]):.3f}")
    ax.set_xlabel("effective valence")
    ax.set_ylabel("pixels")
    ax.legend(frameon=False)
    return fig


def fraction_histogram(maps: xr.Dataset, component: str) -> Figure:
    """Histogram of one component's fraction over the mask, with mean ± standard deviation.

    Parameters
    ----------
    maps : xarray.Dataset
        Output of :func:`redoxmap.fit.lincomb` or :func:`redoxmap.fit.valence_map` (``mask`` needed).
    component : str
        The component shown.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (no pyplot state).
    """
    values = maps.fraction.sel(component=component).values[np.asarray(maps["mask"], bool)]
    fig = Figure(figsize=(5.0, 3.6), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    ax.hist(values, bins=50, range=(0, 1), color="tab:blue", alpha=0.8,
            label=f"mean {values.mean():.3f} ± {values.std():.3f} (n = {values.size})")
    ax.set_xlabel(f"{component} fraction")
    ax.set_ylabel("pixels")
    ax.legend(frameon=False)
    return fig


def _pick_pixels(maps: xr.Dataset, n: int = 4, seed: int = 0) -> list[tuple[int, int]]:
    """``n`` masked pixels chosen reproducibly, spread over the range of the first fraction."""
    ys, xs = np.nonzero(np.asarray(maps["mask"], bool))
    if ys.size == 0:
        return []
    order = np.argsort(maps.fraction.isel(component=0).values[ys, xs])
    rng = np.random.default_rng(seed)
    picks = np.linspace(0, ys.size - 1, n).astype(int)
    jitter = rng.integers(-(ys.size // (4 * n)), ys.size // (4 * n) + 1, size=n) if ys.size > 8 * n else 0
    picks = np.clip(picks + jitter, 0, ys.size - 1)
    return [(int(ys[order[i]]), int(xs[order[i]])) for i in picks]


def fitted_spectrum(maps: xr.Dataset, refs: xr.DataArray, y: int, x: int) -> np.ndarray:
    """The fit at one pixel: Σ_k weight_k · ref_k(E), plus the fitted background in ``sum1-scaled``
    mode (Wang et al. 2021, Eq. 2).

    Parameters
    ----------
    maps : xarray.Dataset
        Output of :func:`redoxmap.fit.lincomb` or :func:`redoxmap.fit.valence_map` (``mask`` needed).
    refs : xarray.DataArray
        The references that were fitted, ``(component, energy)``.
    y, x : int
        The pixel (indices).

    Returns
    -------
    numpy.ndarray
        The fitted spectrum on the references' energies (OD).

    Examples
    --------
    >>> from redoxmap.fit import lincomb
    >>> from redoxmap.simulate import demo_dataset
    >>> sim = demo_dataset(shape=(32, 32))
    >>> fitted_spectrum(lincomb(sim.stack, sim.refs), sim.refs, 16, 16).shape
    (121,)
    """
    fit = (maps.weight.isel(y=y, x=x) * refs).sum("component").values
    if "background_od" in maps:
        fit = fit + float(maps.background_od.isel(y=y, x=x))
    return fit


def pixel_fits(stack: xr.DataArray, refs: xr.DataArray, maps: xr.Dataset, n: int = 4,
               seed: int = 0) -> Figure:
    """Measured spectra (points) and fits (lines) of a few masked pixels, chosen reproducibly across the
    range of the first fraction.

    Parameters
    ----------
    stack : xarray.DataArray
        The spectra that were fitted ``(energy, y, x)``.
    refs : xarray.DataArray
        The references that were fitted.
    maps : xarray.Dataset
        Output of :func:`redoxmap.fit.lincomb` or :func:`redoxmap.fit.valence_map` (``mask`` needed).
    n : int
        Number of pixels shown.
    seed : int
        Seed of the choice of pixels.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (no pyplot state).
    """
    fig = Figure(figsize=(6.0, 4.2), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    energy = stack["energy"].values
    first = str(maps.component.values[0])
    for i, (y, x) in enumerate(_pick_pixels(maps, n, seed)):
        colour = f"C{i}"
        frac = float(maps.fraction.isel(component=0, y=y, x=x))
        ax.plot(energy, stack.isel(y=y, x=x).values, ".", ms=3, color=colour)
        ax.plot(energy, fitted_spectrum(maps, refs, y, x), "-", lw=1.2, color=colour,
                label=f"({y}, {x}) {first} {frac:.2f}, R {float(maps.r_factor[y, x]):.1e}", gid="fit")
    ax.set_xlabel("energy (eV)")
    ax.set_ylabel(stack.attrs.get("long_name", "optical density"))
    ax.legend(frameon=False, fontsize=7)
    return fig


def shifts_plot(maps: xr.Dataset) -> Figure:
    """Drift correction applied at each energy (px), y and x.

    Parameters
    ----------
    maps : xarray.Dataset
        Maps of an aligned stack (``shift_y`` and ``shift_x`` along ``energy``).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (no pyplot state).
    """
    fig = Figure(figsize=(5.0, 3.2), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    energy = maps["energy"].values
    ax.plot(energy, maps.shift_y.values, ".-", label="y")
    ax.plot(energy, maps.shift_x.values, ".-", label="x")
    ax.set_xlabel("energy (eV)")
    ax.set_ylabel("applied shift (pixels)")
    ax.legend(frameon=False)
    return fig


def _central_cuts(values: np.ndarray) -> dict[str, np.ndarray]:
    """The three central orthogonal slices of a (z, y, x) array, keyed by their plane."""
    centre = [s // 2 for s in values.shape]
    return {"xy (z = mid)": values[centre[0]], "xz (y = mid)": values[:, centre[1]],
            "yz (x = mid)": values[:, :, centre[2]]}


def orthogonal_slices(volume: xr.DataArray, title: str, label: str, cmap: str = "gray",
                      voxel_size_nm: float | None = None) -> Figure:
    """The three central orthogonal slices of a volume side by side, coloured from its 1st to 99.5th
    percentile.

    Parameters
    ----------
    volume : xarray.DataArray
        A ``(z, y, x)`` volume.
    title : str
        Figure title.
    label : str
        Colour-bar label (quantity and unit).
    cmap : str
        Matplotlib colour map.
    voxel_size_nm : float, optional
        Voxel size (nm) for scale bars.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (no pyplot state).

    Examples
    --------
    >>> volume = xr.DataArray(np.random.default_rng(0).random((8, 8, 8)), dims=("z", "y", "x"))
    >>> [ax.get_title() for ax in orthogonal_slices(volume, "test", "μ (1/voxel)").axes[:3]]
    ['xy (z = mid)', 'xz (y = mid)', 'yz (x = mid)']
    """
    fig = Figure(figsize=(9.0, 3.4), dpi=150, layout="constrained")
    axes = fig.subplots(1, 3)
    values = np.asarray(volume.values, float)
    lo, hi = np.percentile(values, [1, 99.5])
    for ax, (name, image) in zip(axes, _central_cuts(values).items(), strict=True):
        shown = ax.imshow(image, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        _scale_bar(ax, image.shape[-1], voxel_size_nm)
    fig.colorbar(shown, ax=axes, label=label, shrink=0.85)
    fig.suptitle(title)
    return fig
