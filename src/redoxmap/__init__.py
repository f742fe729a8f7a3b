"""redoxmap: quantitative chemical maps from X-ray spectromicroscopy of battery cathodes.

The pipeline stages are sub-packages, attached lazily (``import redoxmap`` stays fast), used in
this order::

    import redoxmap as rm
    stack = rm.preprocess.open_stack("scan.h5")                  # optical density
    refs = rm.spectra.load_references(["a.csv", "b.csv"], energy=stack.energy)
    maps = rm.fit.lincomb(stack, refs, mode="nnls")              # fractions, R, ...

Whole jobs (read → fit → write, with reports) are in :mod:`redoxmap.pipeline`, one function per
command of the ``redoxmap`` program.
"""

import lazy_loader

from redoxmap._version import __version__
from redoxmap.errors import RedoxmapError

#: The stages and jobs, the shipped data, the error classes and the napari plugin (its functions
#: need the ``napari`` extra; attaching it imports neither napari nor Qt).
SUBPACKAGES = ["data", "diffraction", "echem", "errors", "fit", "io", "models", "napari", "pipeline",
               "preprocess", "report", "segment", "simulate", "spectra", "stats", "tomo"]

__getattr__, __dir__, _ = lazy_loader.attach(__name__, submodules=SUBPACKAGES)

__all__ = ["RedoxmapError", "__version__", *SUBPACKAGES]
