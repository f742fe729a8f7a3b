"""Figures and a report page for volumes: orthogonal slices, voxel classes, class proportions per
shell, pore statistics and a surface rendering (marching cubes; Lorensen & Cline, SIGGRAPH 1987,
as implemented by :func:`skimage.measure.marching_cubes`). Each figure function takes labelled
arrays or tables and returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from mpl_toolkits.mplot3d.art3d import Poly3DCollection
from skimage.measure import marching_cubes

from redoxmap.report.figures import _central_cuts, _scale_bar, orthogonal_slices
from redoxmap.report.files import save_figure, save_table, save_text

#: Colours of voxel classes 0 (outside), 1 (target), 2, 3, … (colour-blind safe, Okabe–Ito).
CLASS_COLOURS = ("#ffffff", "#009e73", "#0072b2", "#d55e00", "#cc79a7", "#e69f00", "#56b4e9")


def class_names(classes: xr.DataArray) -> dict[int, str]:
    """Class numbers and names of a class volume, from the ``class_names`` attribute ("1: target", …) of
    :func:`redoxmap.segment.classify_stoichiometry`; "class k" for a class present without a name.

    Parameters
    ----------
    classes : xarray.DataArray
        Classes (0 outside).

    Returns
    -------
    dict of int to str
        ``{class number: name}`` for every class > 0, in order.

    Examples
    --------
    >>> classes = xr.DataArray([[0, 1], [2, 3]], dims=("y", "x"), attrs={"class_names": ["1: target"]})
    >>> class_names(classes)
    {1: 'target', 2: 'class 2', 3: 'class 3'}
    """
    names = {}
    for item in classes.attrs.get("class_names", []):
        number, _, name = str(item).partition(":")
        names[int(number)] = name.strip()
    present = {int(k) for k in np.unique(np.asarray(classes)) if k > 0}
    return {k: names.get(k, f"class {k}") for k in sorted(present | {k for k in names if k > 0})}


def class_slices(classes: xr.DataArray, voxel_size_nm: float | None = None) -> Figure:
    """The three central orthogonal slices of a class volume, one colour per class (Okabe–Ito), with a
    legend of the class names.

    Parameters
    ----------
    classes : xarray.DataArray
        ``(z, y, x)`` classes from :func:`redoxmap.segment.classify_stoichiometry`.
    voxel_size_nm : float, optional
        Voxel size (nm) for scale bars.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    names = class_names(classes)
    top = max(names, default=1)
    cmap = ListedColormap([CLASS_COLOURS[k % len(CLASS_COLOURS)] for k in range(top + 1)])
    norm = BoundaryNorm(np.arange(top + 2) - 0.5, cmap.N)
    fig = Figure(figsize=(9.0, 3.6), dpi=150, layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (title, image) in zip(axes, _central_cuts(np.asarray(classes)).items(), strict=True):
        ax.imshow(image, cmap=cmap, norm=norm, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        _scale_bar(ax, image.shape[-1], voxel_size_nm)
    handles = [axes[0].scatter([], [], marker="s", s=60, color=CLASS_COLOURS[k % len(CLASS_COLOURS)],
                               label=name) for k, name in names.items()]
    fig.legend(handles=handles, loc="outside lower center", ncols=max(len(handles), 1), frameon=False)
    target = classes.attrs.get("target")
    tol = classes.attrs.get("tolerance")
    fig.suptitle("voxel classes" + (f" (target {target:.4g} ± {100 * tol:g} %)" if target and tol else ""))
    return fig


def _region_rows(overall: xr.DataArray, per_shell: xr.DataArray | None, names: dict[int, str],
                 scale: float) -> pd.DataFrame:
    """One row per region ("all", "shell 1" …), one column per class name, values times ``scale``."""
    def row(region: str, values: xr.DataArray) -> dict:
        cells = {names.get(int(k), f"class {int(k)}"): scale * values.sel({"class": k}).item()
                 for k in values["class"].values}
        return {"region": region, **cells}

    rows = [row("all", overall)]
    if per_shell is not None:
        rows += [row(f"shell {int(s)}", per_shell.sel(shell=s)) for s in per_shell.shell.values]
    return pd.DataFrame(rows)


def proportions_table(overall: xr.DataArray, per_shell: xr.DataArray | None,
                      names: dict[int, str]) -> pd.DataFrame:
    """Class proportions as a table: one row per region ("all", then "shell 1" = surface … "shell n" =
    centre), one column per class name, values in percent.

    Parameters
    ----------
    overall : xarray.DataArray
        Fractions over ``class`` (:func:`redoxmap.segment.class_proportions` without shells).
    per_shell : xarray.DataArray or None
        Fractions over ``(shell, class)``, or None.
    names : dict of int to str
        Class names (:func:`class_names`).

    Returns
    -------
    pandas.DataFrame
        Column ``region`` and one column per class (%).

    Examples
    --------
    >>> overall = xr.DataArray([0.9, 0.1], dims="class", coords={"class": [1, 2]})
    >>> proportions_table(overall, None, {1: "target", 2: "below"}).round(6).to_dict("records")
    [{'region': 'all', 'target': 90.0, 'below': 10.0}]
    """
    return _region_rows(overall, per_shell, names, 100.0)


def counts_table(overall: xr.DataArray, per_shell: xr.DataArray | None,
                 names: dict[int, str]) -> pd.DataFrame:
    """Voxels per class as a table, laid out as :func:`proportions_table`: a class no voxel falls in
    shows 0.

    Parameters
    ----------
    overall : xarray.DataArray
        Counts over ``class`` (:func:`redoxmap.segment.class_counts` without shells).
    per_shell : xarray.DataArray or None
        Counts over ``(shell, class)``, or None.
    names : dict of int to str
        Class names (:func:`class_names`).

    Returns
    -------
    pandas.DataFrame
        Column ``region`` and one column per class (voxels).

    Examples
    --------
    >>> overall = xr.DataArray([120, 0], dims="class", coords={"class": [1, 2]})
    >>> counts_table(overall, None, {1: "target", 2: "below"}).to_dict("records")
    [{'region': 'all', 'target': 120, 'below': 0}]
    """
    return _region_rows(overall, per_shell, names, 1)


def proportions_figure(table: pd.DataFrame) -> Figure:
    """Stacked bars of class proportions (%) overall and per shell.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`proportions_table`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig = Figure(figsize=(6.0, 3.6), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    bottom = np.zeros(len(table))
    for i, name in enumerate(c for c in table.columns if c != "region"):
        ax.bar(table.region, table[name], bottom=bottom, label=name,
               color=CLASS_COLOURS[(i + 1) % len(CLASS_COLOURS)], edgecolor="white", linewidth=0.5)
        bottom += table[name].to_numpy()
    ax.set_ylabel("voxels (%)")
    ax.set_ylim(0, 100)
    ax.set_title("class proportions, surface (shell 1) to centre")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.tick_params(axis="x", labelrotation=30)
    return fig


def pore_figure(table: pd.DataFrame, by_shell: xr.Dataset | None = None) -> Figure:
    """Equivalent diameters of the voids by kind (pore, crack) and, given ``by_shell``, the porosity per
    equal-volume shell.

    Parameters
    ----------
    table : pandas.DataFrame
        The void table of :func:`redoxmap.segment.analyze_pores`.
    by_shell : xarray.Dataset, optional
        Output of :func:`redoxmap.stats.porosity`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig = Figure(figsize=(8.0, 3.4), dpi=150, layout="constrained")
    left, right = fig.subplots(1, 2)
    if len(table):
        bins = np.histogram_bin_edges(table.equivalent_diameter_nm, bins=min(20, max(len(table), 5)))
        for kind, part in table.groupby("kind"):
            left.hist(part.equivalent_diameter_nm, bins=bins, alpha=0.7, label=f"{kind} ({len(part)})")
        left.legend(frameon=False, fontsize=8)
    left.set_xlabel("equivalent diameter (nm)")
    left.set_ylabel("voids")
    if by_shell is not None:
        right.bar(by_shell.shell.values, 100 * by_shell.porosity_by_shell.values, color="0.4")
        right.axhline(100 * by_shell.attrs["porosity"], color="k", ls="--", lw=0.8, label="overall")
        right.set_xlabel("shell (1 = surface)")
        right.set_ylabel("porosity (%)")
        right.legend(frameon=False, fontsize=8)
    else:
        right.set_axis_off()
    return fig


def pore_size_figure(distribution: xr.Dataset) -> Figure:
    """Pore-size distribution by local thickness (Hildebrand & Rüegsegger 1997): void volume fraction
    per thickness bin and its cumulative curve.

    Parameters
    ----------
    distribution : xarray.Dataset
        Output of :func:`redoxmap.segment.pore_size_distribution`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig = Figure(figsize=(5.0, 3.4), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    centres = distribution.thickness_nm.values
    widths = distribution.bin_upper_nm.values - distribution.bin_lower_nm.values
    ax.bar(centres, 100 * distribution.volume_fraction.values, width=0.9 * widths, color="#d55e00")
    ax.set_xlabel("local thickness (nm)")
    ax.set_ylabel("void volume (%)")
    twin = ax.twinx()
    twin.plot(distribution.bin_upper_nm.values, 100 * distribution.cumulative_fraction.values, "k-", lw=1)
    twin.set_ylabel("cumulative (%)")
    twin.set_ylim(0, 100)
    ax.set_title(f"median {distribution.attrs['median_thickness_nm']:.0f} nm")
    return fig


def surface_rendering(solid: xr.DataArray, voxel_size_nm: float | None = None,
                      voids: xr.DataArray | None = None, max_faces: int = 200_000) -> Figure:
    """A 3D rendering of the solid's surface (semi-transparent) and, optionally, the voids inside
    (opaque), from marching cubes (Lorensen & Cline 1987, :func:`skimage.measure.marching_cubes`) on
    the binary masks at level 0.5. Large volumes are subsampled so that the surface has at most about
    ``max_faces`` triangles.

    Parameters
    ----------
    solid : xarray.DataArray
        Booleans of the particle ``(z, y, x)``.
    voxel_size_nm : float, optional
        Voxel size (nm); axes in nm when given, else in voxels.
    voids : xarray.DataArray, optional
        Booleans of the voids inside.
    max_faces : int
        Approximate largest number of surface triangles.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig = Figure(figsize=(5.5, 5.0), dpi=150, layout="constrained")
    ax = fig.add_subplot(projection="3d")
    scale = voxel_size_nm / 1000 if voxel_size_nm else 1.0
    unit = "µm" if voxel_size_nm else "voxels"
    volume = np.asarray(solid, bool)
    step = max(1, int(np.ceil(np.sqrt(volume.sum() ** (2 / 3) * 2 / max_faces))))
    for mask, colour, alpha in ((volume, "0.7", 0.25), (None if voids is None else np.asarray(voids, bool),
                                                         "#d55e00", 0.9)):
        if mask is None or not mask.any():
            continue
        padded = np.pad(mask, 1).astype(np.float32)
        verts, faces, _, _ = marching_cubes(padded, 0.5, step_size=step)
        mesh = Poly3DCollection((verts[faces] - 1) * scale, facecolors=colour, edgecolor="none", alpha=alpha,
                                shade=True)
        ax.add_collection3d(mesh)
    extent = np.array(volume.shape) * scale
    ax.set_xlim(0, extent[0])
    ax.set_ylim(0, extent[1])
    ax.set_zlim(0, extent[2])
    ax.set_box_aspect(extent)
    ax.set_xlabel(f"z ({unit})")
    ax.set_ylabel(f"y ({unit})")
    ax.set_zlabel(f"x ({unit})")
    ax.set_title("surface (grey) and voids (orange)" if voids is not None else "surface")
    return fig


def write_volume_report(volume: xr.DataArray | None, folder: str | Path, *, title: str,
                        classes: xr.DataArray | None = None, shells: xr.DataArray | None = None,
                        solid: xr.DataArray | None = None, pores: pd.DataFrame | None = None,
                        porosity: xr.Dataset | None = None, voids: xr.DataArray | None = None,
                        pore_sizes: xr.Dataset | None = None, settings: dict | None = None) -> Path:
    """Write the figures and tables of whichever parts are given into ``folder``, and an ``index.html``;
    every file is written under a temporary name and renamed when complete.

    Parts: orthogonal slices of ``volume``; class slices and proportions overall and per shell (with
    ``classes`` and ``shells``); pore statistics (``pores``, ``porosity``, ``pore_sizes``); a
    rendering of ``solid`` with ``voids``.

    Parameters
    ----------
    volume : xarray.DataArray or None
        A ``(z, y, x)`` volume (e.g. attenuation or a density) to show in slices.
    folder : str or pathlib.Path
        The report folder (created if missing).
    title : str
        Page title.
    classes : xarray.DataArray, optional
        Voxel classes (:func:`redoxmap.segment.classify_stoichiometry`).
    shells : xarray.DataArray, optional
        Equal-volume shells (:func:`redoxmap.stats.equal_volume_shells`).
    solid : xarray.DataArray, optional
        Booleans of the particle, for the rendering.
    pores : pandas.DataFrame, optional
        The void table (:func:`redoxmap.segment.analyze_pores`).
    porosity : xarray.Dataset, optional
        Porosity per shell (:func:`redoxmap.stats.porosity`).
    voids : xarray.DataArray, optional
        Booleans of the voids, for the rendering.
    pore_sizes : xarray.Dataset, optional
        Pore-size distribution (:func:`redoxmap.segment.pore_size_distribution`).
    settings : dict, optional
        Job settings to list.

    Returns
    -------
    pathlib.Path
        The path of ``index.html``.

    Examples
    --------
    >>> import tempfile
    >>> volume = xr.DataArray(np.random.default_rng(0).random((8, 8, 8)), dims=("z", "y", "x"))
    >>> write_volume_report(volume, tempfile.mkdtemp(), title="test").name
    'index.html'
    """
    from redoxmap.segment.classes import class_counts, class_proportions

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images: list[tuple[str, str]] = []
    tables: list[tuple[str, pd.DataFrame]] = []

    def add_figure(fig: Figure, name: str, caption: str) -> None:
        save_figure(fig, folder, name)
        images.append((name, caption))

    def add_table(table: pd.DataFrame, name: str, caption: str) -> None:
        save_table(table, folder, name)
        tables.append((caption, table))

    reference = next((v for v in (volume, classes, solid) if v is not None), None)
    voxel = reference.attrs.get("voxel_size_nm") if reference is not None else None
    if volume is not None:
        add_figure(orthogonal_slices(volume, title, volume.attrs.get("units", ""), voxel_size_nm=voxel),
                    "slices.png", "central orthogonal slices")
    if classes is not None:
        names = class_names(classes)
        layers = shells.where(classes > 0, 0) if shells is not None else None
        per_shell = class_proportions(classes, layers) if layers is not None else None
        table = proportions_table(class_proportions(classes), per_shell, names)
        add_table(table, "class_proportions.csv", "class proportions (%)")
        add_table(counts_table(class_counts(classes), class_counts(classes, layers) if layers is not None
                               else None, names), "class_counts.csv", "voxels per class")
        add_figure(class_slices(classes, voxel), "classes.png", "voxel classes")
        add_figure(proportions_figure(table), "class_proportions.png", "class proportions per shell")
    if pores is not None:
        add_table(pores, "voids.csv", "voids (one row each)")
        add_figure(pore_figure(pores, porosity), "pores.png", "void sizes and porosity per shell")
    if porosity is not None:
        shells_table = porosity.to_dataframe().reset_index()
        add_table(shells_table, "porosity_by_shell.csv",
                   f"porosity {porosity.attrs['porosity']:.4f} overall")
    if pore_sizes is not None:
        add_table(pore_sizes.to_dataframe().reset_index(), "pore_sizes.csv",
                   "pore-size distribution by local thickness")
        add_figure(pore_size_figure(pore_sizes), "pore_sizes.png",
                    "pore-size distribution (local thickness)")
    if solid is not None:
        add_figure(surface_rendering(solid, voxel, voids), "rendering.png",
                    "3D rendering (marching cubes)")
    body = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;max-width:1100px;"
        "margin:2em auto}table{border-collapse:collapse;margin-bottom:1.5em}th,td{border:1px solid #ccc;"
        "padding:3px 8px;text-align:right}figure{display:inline-block;margin:0.5em;width:48%}"
        "img{width:100%}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if settings:
        body += ["<h2>Settings</h2><table>"]
        body += [f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                 for k, v in settings.items()]
        body += ["</table>"]
    for caption, table in tables:
        shown = table if len(table) <= 30 else table.head(30)
        body += [f"<h2>{html.escape(caption)}</h2>", shown.to_html(index=False, float_format="%.4g")]
        if len(table) > 30:
            body += [f"<p>first 30 of {len(table)} rows; all in the CSV</p>"]
    body += ["<h2>Figures</h2>"]
    body += [f"<figure><img src='{html.escape(n)}' alt='{html.escape(c)}'><figcaption>{html.escape(c)}"
             "</figcaption></figure>" for n, c in images]
    body += ["</body></html>"]
    return save_text("\n".join(body), folder, "index.html")
