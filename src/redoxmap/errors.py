"""Exceptions raised on bad input. Every message names the file or field, what was found and
what was expected, so a user can fix the input without reading our code."""


class RedoxmapError(Exception):
    """Base class of every error redoxmap raises on purpose."""


class FormatError(RedoxmapError):
    """A file is missing a dataset or holds one of the wrong shape, type or order."""


class EnergyError(RedoxmapError):
    """Energies are not increasing, or references do not cover the stack's energies."""


class MaskError(RedoxmapError):
    """A mask selects no pixel, or does not match the map it is applied to."""


class FitError(RedoxmapError):
    """The fit cannot be set up (e.g. fewer than two references, or too many)."""


class RedoxmapWarning(UserWarning):
    """Base class of every warning redoxmap gives about input that still runs."""


class ResampleWarning(RedoxmapWarning):
    """A reference spectrum was extended flat by less than one energy step to cover the stack."""


class MaskWarning(RedoxmapWarning):
    """The automatic particle mask could not separate particle from background."""
