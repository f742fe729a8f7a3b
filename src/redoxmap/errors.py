"""Exceptions raised on bad input, and warnings about input that still runs.

Every message names the file or field, what was found and what was expected, so a user can fix the
input without reading our code. :class:`RedoxmapError` is also a :class:`ValueError`, so code that
catches ``ValueError`` catches ours too; causes are chained (``raise … from exc``).
"""

__all__ = [
    "CompositionError", "ConfigError", "CycleError", "EnergyError", "ExperimentError", "FemError", "FitError",
    "FormatError", "GittError", "MaskError", "MaskWarning", "MissingExtraError", "OutputError",
    "ParameterError", "RedoxmapError", "RedoxmapWarning", "ResampleWarning", "TruncatedFileWarning",
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
    """The record holds no GITT pulse, or the particle geometry is missing or not physical."""


class CycleError(RedoxmapError):
    """A cycle asked for is not in the record, or the record has no charge or discharge."""


class ParameterError(RedoxmapError):
    """A parameter is out of range: a physical value of a model, or a processing setting such as a
    binning factor (the message names the field, the value found and the range expected)."""


class FemError(ParameterError):
    """The FEM geometry of the particle model cannot be built (e.g. the pore does not fit inside
    the particle)."""


class CompositionError(RedoxmapError):
    """A formula cannot be parsed, or valences do not match it."""


class MissingExtraError(RedoxmapError):
    """An optional dependency is not installed (the message says which extra installs it)."""


class ConfigError(RedoxmapError):
    """A job setting is missing, of the wrong type or out of range (the message names the option
    as the user gave it)."""


class ExperimentError(ConfigError):
    """An experiment file has a key, file or value that does not fit (the message gives the key, its
    line in the file and what was expected), or some of its steps failed (the message names them;
    what the other steps computed is kept)."""


class OutputError(RedoxmapError):
    """An output cannot be written: it exists, would replace an input, has the wrong suffix or
    lies in a place that cannot be written."""


class RedoxmapWarning(UserWarning):
    """Base class of every warning redoxmap gives about input that still runs."""


class ResampleWarning(RedoxmapWarning):
    """A reference spectrum was extended flat by less than one energy step to cover the stack."""


class MaskWarning(RedoxmapWarning):
    """The automatic particle mask could not separate particle from background."""


class TruncatedFileWarning(RedoxmapWarning):
    """A cycler file looks cut short or damaged (a copy made while the cycler was still writing, a
    failed transfer): its last record or line is incomplete, time runs backwards, or the record stops
    in the middle of a step. What was read is returned, but the last cycle may be incomplete."""
