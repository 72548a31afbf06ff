"""Errors that point a user at the exact place of bad input."""

from __future__ import annotations

from pathlib import Path


class WaspadaError(Exception):
    """Base class of every error waspada raises on purpose."""


class InputError(WaspadaError, ValueError):
    """Bad input, located by file, line and field.

    The message always reads ``FILE:LINE: field 'FIELD': REASON`` (parts that do not
    apply are left out), so an editor or a terminal can jump to the spot.
    """

    def __init__(self, reason: str, *, path: str | Path | None = None, line: int | None = None,
                 field: str | None = None):
        self.reason = reason
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        super().__init__(self.location_prefix() + reason)

    def location_prefix(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        if self.field is not None:
            where += f"field '{self.field}': "
        return where


class ModelFolderError(WaspadaError):
    """A model folder is missing, incomplete or from an incompatible version."""
