"""Heterogeneity statistics of a valence map (Csernica et al. 2021, Fig. 2e/g): the value versus
distance from the particle edge with standard errors, and the oxygen-vacancy diffusion model fitted
against a two-phase core–shell front, ranked by AIC.

Run from the repository root: ``.venv/bin/python examples/statistics.py``; writes
``docs/examples/profile.png``.
"""

import numpy as np
import xarray as xr
from _common import arguments

from redoxmap.models.transport import compare_models, diffusion_profile, time_at_high_soc_s
from redoxmap.report.profiles import profile_figure
from redoxmap.stats import edge_distance_profile

args = arguments(__doc__)
radius_nm, d_true, pixel_nm = 100.0, 1e-17, 2.0              # D in cm²/s, as in Csernica et al. 2021
time_s = time_at_high_soc_s(125, 1 / 3, 0.15)                # 125 cycles at C/3, 15 % at high voltage
n = 61 if args.small else 121
yy, xx = (np.indices((n, n)) - n // 2) * pixel_nm * (121 / n)
depth = radius_nm - np.hypot(yy, xx)
disk = depth > 0
truth = diffusion_profile(np.clip(depth, 0, radius_nm).ravel(), radius_nm, d_true, time_s, 0.6, 0.1)
value = np.where(disk, truth.reshape(disk.shape), 0.0) + np.random.default_rng(0).normal(0, 0.01, disk.shape)
pixel = pixel_nm * 121 / n
profile = edge_distance_profile(xr.DataArray(value, dims=("y", "x")), xr.DataArray(disk, dims=("y", "x")),
                                pixel, np.arange(0, radius_nm + 4, 4.0))
profile = profile.where(profile["count"] > 1, drop=True)
fits = compare_models(profile.distance_nm.values, profile["mean"].values, profile.stderr.values, radius_nm,
                      time_s)
for fit in fits:
    print(f"{fit.model}: AIC {fit.aic:.1f}, " + ", ".join(f"{k} {v:.3g}" for k, v in fit.params.items()))
best = fits[0]
print(f"preferred: {best.model}; D = {10 ** best.params.get('log10_d_cm2_s', np.nan):.2e} cm²/s "
      f"(true {d_true:.0e})")
profile_figure(profile, fits, radius_nm, time_s, "Mn3+ fraction").savefig(args.out / "profile.png", dpi=150)
print(f"wrote {args.out / 'profile.png'}")
