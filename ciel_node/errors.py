"""Errors a user can act on: each names the bad value and the fix; the CLI turns them into exit 2."""

from __future__ import annotations


class CielError(Exception):
    """A problem with the user's input (file, flag, archive); the message is one line with the fix."""


class ConfigError(CielError):
    """A setting is out of range or malformed."""


class CheckpointError(CielError):
    """A checkpoint is missing, corrupt, tampered with or of the wrong kind."""


class ArchiveError(CielError):
    """The archive folder is missing, empty, or has nothing readable."""
