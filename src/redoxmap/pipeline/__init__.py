"""Jobs: one function per task, each taking a typed configuration that holds every default once.

The ``redoxmap`` command line only fills these configurations and calls these functions; the demo,
scripts and experiment runs call them too::

    from redoxmap.pipeline import Xanes2DConfig, run_xanes2d
    result = run_xanes2d(Xanes2DConfig(stack="scan.h5", references=["a.csv", "b.csv"],
                                       output="maps.nc", report="report"))
    result.maps            # the fitted Dataset; result.written lists the files

A configuration is checked when it is made: settings in range, inputs present, outputs writable
and new (or ``overwrite``), so a mistake stops the job before any work.
"""

from redoxmap.pipeline.demo import DemoConfig, run_demo
from redoxmap.pipeline.echem import EchemConfig, run_echem
from redoxmap.pipeline.jobs import JobConfig, JobResult, Progress
from redoxmap.pipeline.particle import ParticleConfig, run_particle
from redoxmap.pipeline.profile import ProfileConfig, run_profile
from redoxmap.pipeline.refit import FitInputs, fit_inputs, refit
from redoxmap.pipeline.tomo import (
    ClassifyConfig,
    DualEnergyConfig,
    PoresConfig,
    TomoReconConfig,
    TomoXanesConfig,
    run_classify,
    run_dual_energy,
    run_pores,
    run_tomo_recon,
    run_tomo_xanes,
)
from redoxmap.pipeline.valence import ValenceConfig, run_valence
from redoxmap.pipeline.xanes2d import Xanes2DConfig, run_xanes2d
from redoxmap.pipeline.xrd_series import XrdSeriesConfig, run_xrd_series

__all__ = [
    "ClassifyConfig", "DemoConfig", "DualEnergyConfig", "EchemConfig", "FitInputs", "JobConfig", "JobResult",
    "ParticleConfig", "PoresConfig", "ProfileConfig", "Progress", "TomoReconConfig", "TomoXanesConfig",
    "ValenceConfig", "Xanes2DConfig", "XrdSeriesConfig", "run_classify", "run_demo", "run_dual_energy",
    "run_echem", "run_particle", "run_pores", "run_profile", "run_tomo_recon", "run_tomo_xanes",
    "run_valence", "run_xanes2d", "run_xrd_series", "fit_inputs", "refit",
]
