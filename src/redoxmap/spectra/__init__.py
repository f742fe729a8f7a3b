"""Reference spectra (standards) and their handling."""

from redoxmap.spectra.references import load_references, read_spectrum

__all__ = ["load_references", "read_spectrum"]
