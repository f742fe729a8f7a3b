"""The 2D XANES pipeline as one call: read → OD → window/bin → align → mask → fit.

The CLI and the demo call :func:`run_xanes2d`; scripts can too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from redoxmap.errors import EnergyError
from redoxmap.fit.lincomb import lincomb
from redoxmap.io.writers import spill_to_zarr
from redoxmap.preprocess.align import align_stack
from redoxmap.preprocess.mask import particle_mask
from redoxmap.preprocess.resample import bin_pixels, energy_window
from redoxmap.preprocess.stacks import open_stack
from redoxmap.spectra.references import load_references

#: progress(stage, done, total): called as the pipeline advances.
Progress = Callable[[str, int, int], None]


@dataclass
class Xanes2DConfig:
    """Settings of a 2D TXM-XANES phase-mapping run (every field has a CLI option)."""

    stack: Path
    references: list[Path]
    names: list[str] | None = None
    mode: str = "nnls"
    energies: Path | None = None
    flats: str | None = None
    darks: str | None = None
    data_dataset: str | None = None
    energy_dataset: str | None = None
    min_ev: float | None = None
    max_ev: float | None = None
    bin_factor: int = 1
    align: bool = True
    ref_energy_ev: float | None = None
    max_shift_px: float = 10.0
    mask_threshold_od: float | None = None
    pixel_size_nm: float | None = None
    chunks: int | None = None
    extra: dict = field(default_factory=dict)

    def settings(self) -> dict:
        """Plain, printable settings (paths as strings) for reports and history."""
        return {k: (str(v) if isinstance(v, Path) else
                    [str(p) for p in v] if isinstance(v, list) and v and isinstance(v[0], Path) else v)
                for k, v in asdict(self).items() if k != "extra"}


def run_xanes2d(config: Xanes2DConfig,
                progress: Progress | None = None) -> tuple[xr.Dataset, xr.DataArray, xr.DataArray]:
    """Run the pipeline; return ``(maps, stack, refs)`` (stack = the OD that was fitted)."""
    def report(stage: str, done: int = 1, total: int = 1) -> None:
        if progress is not None:
            progress(stage, done, total)

    report("read", 0)
    stack = open_stack(config.stack, energies=config.energies, flats=config.flats,
                       darks=config.darks, data=config.data_dataset, energy=config.energy_dataset,
                       chunks=config.chunks)
    if config.pixel_size_nm is not None:
        stack.attrs["pixel_size_nm"] = float(config.pixel_size_nm)
    report("read")
    if config.min_ev is not None or config.max_ev is not None:
        stack = energy_window(stack, config.min_ev, config.max_ev)
    stack = bin_pixels(stack, config.bin_factor)
    lazy = config.chunks is not None
    if lazy:  # one pass over the file; registration then reads one stored image per energy
        stack = spill_to_zarr(stack, {"energy": 1, "y": -1, "x": -1})
    if config.align:
        stack = align_stack(stack, ref_energy_ev=config.ref_energy_ev,
                            max_shift_px=config.max_shift_px,
                            progress=lambda done, total: report("align", done, total))
        if lazy:  # whole spectra per chunk for the fit
            stack = spill_to_zarr(stack, {"energy": -1, "y": config.chunks, "x": config.chunks})
    mask = particle_mask(stack, threshold_od=config.mask_threshold_od)
    refs = load_references(config.references, energy=stack["energy"].values, names=config.names)
    report("fit", 0)
    maps = lincomb(stack, refs, mode=config.mode, mask=mask)
    maps = maps.compute()
    report("fit")
    maps.attrs["mask_threshold_od"] = mask.attrs["threshold_od"]
    maps.attrs["e0_ev"] = mask.attrs["e0_ev"]
    return maps, stack, refs


def run_xanes3d(volumes: Sequence[xr.DataArray], energies_ev: Sequence[float], references: Sequence[Path],
                names: Sequence[str] | None = None, mode: str = "nnls",
                mask_threshold: float | None = None) -> tuple[xr.Dataset, xr.DataArray]:
    """3D XANES: volumes reconstructed at several energies, fitted voxel by voxel with the same
    engine as the 2D maps (:func:`redoxmap.fit.lincomb`). Returns ``(maps, stack)`` with the stack
    ``(energy, z, y, x)`` sorted by energy; the mask is the edge jump above ``mask_threshold``
    (Otsu's threshold by default), as in 2D."""
    if len(volumes) != len(energies_ev):
        raise EnergyError(f"{len(volumes)} volumes but {len(energies_ev)} energies; expected one energy "
                          "per volume")
    if len(volumes) < 2:
        raise EnergyError("3D XANES needs volumes at two or more energies")
    shapes = {v.shape for v in volumes}
    if len(shapes) != 1:
        raise EnergyError(f"volumes of different shapes {sorted(shapes)}; expected one grid")
    order = np.argsort(energies_ev)
    stack = xr.concat([volumes[i].drop_attrs() for i in order], dim="energy")
    stack = stack.assign_coords(energy=np.asarray(energies_ev, float)[order])
    stack["energy"].attrs["units"] = "eV"
    stack = stack.chunk({"energy": -1})
    stack.attrs = {"voxel_size_nm": volumes[0].attrs.get("voxel_size_nm"), "units": "1/voxel"}
    mask = particle_mask(stack, threshold_od=mask_threshold)
    refs = load_references(references, energy=stack["energy"].values, names=names)
    maps = lincomb(stack, refs, mode=mode, mask=mask).compute()
    maps.attrs.update(mask_threshold_od=mask.attrs["threshold_od"],
                      voxel_size_nm=stack.attrs["voxel_size_nm"])
    return maps, stack


@dataclass
class ValenceConfig:
    """Settings of an oxidation-state mapping run (every field has a CLI option)."""

    stack: Path
    library: Path
    mode: str = "auto"
    energies: Path | None = None
    i0_spectrum: Path | None = None
    i0_fraction: float = 0.05
    window_ev: tuple[float, float] | None = None
    normalize: bool | str = "auto"
    align: bool = False
    max_shift_px: float = 10.0

    def settings(self) -> dict:
        """Plain, printable settings for reports and history."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def run_valence(config: ValenceConfig,
                progress: Progress | None = None) -> tuple[xr.Dataset, xr.DataArray, xr.DataArray]:
    """Read (with I0 from an empty region or a spectrum when the file has no flats), optionally
    align, and map valence; return ``(maps, stack, library)``."""
    from redoxmap.fit.valence import valence_map
    from redoxmap.io.stack import read_raw
    from redoxmap.preprocess.flatfield import optical_density
    from redoxmap.preprocess.i0 import with_i0_region, with_i0_spectrum
    from redoxmap.spectra.library import load_library

    def report(stage: str, done: int = 1, total: int = 1) -> None:
        if progress is not None:
            progress(stage, done, total)

    report("read", 0)
    raw = read_raw(config.stack, energies=config.energies)
    if config.i0_spectrum is not None:
        raw = with_i0_spectrum(raw, config.i0_spectrum)
    elif raw.flats is None and not raw.counts_are_transmission:
        raw = with_i0_region(raw, fraction=config.i0_fraction)
    stack = optical_density(raw)
    report("read")
    if config.align:
        stack = align_stack(stack, max_shift_px=config.max_shift_px,
                            progress=lambda done, total: report("align", done, total))
    library = load_library(config.library)
    report("fit", 0)
    maps = valence_map(stack, library, mode=config.mode, window_ev=config.window_ev,
                       normalize=config.normalize).compute()
    report("fit")
    return maps, stack, library
