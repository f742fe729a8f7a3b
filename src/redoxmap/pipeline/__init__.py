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

import lazy_loader

# Each job's module is imported on first use, so a command loads only the job it runs.
__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "demo": ["DemoConfig", "run_demo"],
    "echem": ["EchemConfig", "run_echem"],
    "execution": ["Execution", "ExecutionSettings", "check_scheduler", "chunk_bytes", "execution",
                  "parse_memory_limit"],
    "experiment": ["ExperimentConfig", "run_experiment"],
    "experiment_init": ["InitExperimentConfig", "run_init_experiment"],
    "jobs": ["JobConfig", "JobResult", "Progress"],
    "particle": ["ParticleConfig", "run_particle"],
    "refit": ["FitInputs", "fit_inputs", "refit"],
    "profile": ["ProfileConfig", "run_profile"],
    "tomo": ["ClassifyConfig", "DualEnergyConfig", "PoresConfig", "TomoReconConfig", "TomoXanesConfig",
             "run_classify", "run_dual_energy", "run_pores", "run_tomo_recon", "run_tomo_xanes"],
    "tomo_series": ["TomoSeriesConfig", "run_tomo_series"],
    "valence": ["ValenceConfig", "run_valence"],
    "xanes2d": ["Xanes2DConfig", "fraction_summary", "run_xanes2d"],
    "xas_series": ["XasSeriesConfig", "run_xas_series"],
    "xrd_series": ["XrdSeriesConfig", "run_xrd_series"],
})
