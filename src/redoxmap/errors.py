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


class TruncatedFileWarning(UserWarning):
    """A cycler file looks cut short or damaged (a copy made while the cycler was still writing, a
    failed transfer): its last record or line is incomplete, time runs backwards, or the record stops
    in the middle of a step. What was read is returned, but the last cycle may be incomplete."""
