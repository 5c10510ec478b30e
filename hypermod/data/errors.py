"""Exceptions raised while finding, reading or fetching data sets.

Every error names the offending file, directory or URL, so a user can act on the message
without reading a traceback. The hierarchy lets callers catch all data problems at once
(`DataError`) while still behaving like the built-in error a caller would expect
(`FileNotFoundError` for a missing data set, `ValueError` for a malformed file).
"""


class DataError(Exception):
    """Base class of every error raised by `hypermod.data`."""


class DatasetNotFoundError(DataError, FileNotFoundError):
    """A data set's files are in none of the places searched; the message lists them."""


class CorruptDataError(DataError, ValueError):
    """A file exists but its contents are malformed (bad header, truncated, wrong shape)."""


class ChecksumError(CorruptDataError):
    """A file's digest differs from the published one; the message gives both."""


class UnsafePickleError(CorruptDataError):
    """A pickle asked for a global outside the allow-list, so it was not loaded."""
