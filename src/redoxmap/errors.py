"""Exceptions raised on bad input, and warnings about input that still runs.

Every message names the file or field, what was found and what was expected, so a user can fix the
input without reading our code. :class:`RedoxmapError` is also a :class:`ValueError`, so code that
catches ``ValueError`` catches ours too; causes are chained (``raise … from exc``).
"""

__all__ = [
    "CompositionError", "ConfigError", "CycleError", "EnergyError", "FitError", "FormatError",
    "GittError", "MaskError", "MaskWarning", "MissingExtraError", "OutputError", "ParameterError",
    "RedoxmapError", "RedoxmapWarning", "ResampleWarning",
]


class RedoxmapError(ValueError):
    """Base class of every error redoxmap raises on purpose."""


class FormatError(RedoxmapError):
    """A file is missing a dataset or holds one of the wrong shape, type or order."""


class EnergyError(RedoxmapError):
    """Energies are not increasing, or references do not cover the stack's energies."""


class MaskError(RedoxmapError):
    """A mask selects no pixel, or does not match the map it is applied to."""


class FitError(RedoxmapError):
    """The fit cannot be set up (e.g. fewer than two references, or too many)."""


class GittError(FitError):
    """A GITT analysis cannot be set up (no pulses, missing columns, bad geometry)."""


class CycleError(RedoxmapError):
    """Cycler data cannot be split into cycles, or lacks the columns a metric needs."""


class ParameterError(RedoxmapError):
    """A physical parameter is out of range (the message names the field, the value found and the
    range expected)."""


class CompositionError(RedoxmapError):
    """A formula cannot be parsed, or valences do not match it."""


class MissingExtraError(RedoxmapError):
    """An optional dependency is not installed (the message says which extra installs it)."""


class ConfigError(RedoxmapError):
    """A job setting is missing, of the wrong type or out of range (the message names the option
    as the user gave it)."""


class OutputError(RedoxmapError):
    """An output cannot be written: it exists, would replace an input, has the wrong suffix or
    lies in a place that cannot be written."""


class RedoxmapWarning(UserWarning):
    """Base class of every warning redoxmap gives about input that still runs."""


class ResampleWarning(RedoxmapWarning):
    """A reference spectrum was extended flat by less than one energy step to cover the stack."""


class MaskWarning(RedoxmapWarning):
    """The automatic particle mask could not separate particle from background."""
