"""redoxmap: quantitative chemical maps from X-ray spectromicroscopy of battery cathodes.

The pipeline stages are sub-packages, used in this order::

    stack = redoxmap.io.open_stack("scan.h5")                       # optical density
    refs = redoxmap.spectra.load_references(["a.csv", "b.csv"], energy=stack.energy)
    maps = redoxmap.fit.lincomb(stack, refs, mode="nnls")           # fractions, R, ...
"""

from redoxmap._version import __version__
from redoxmap.errors import RedoxmapError

__all__ = ["RedoxmapError", "__version__"]
