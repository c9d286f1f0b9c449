"""The error of the file layer: a snapshot or recording that cannot be read or written."""

from __future__ import annotations


class SnapshotError(Exception):
    """A snapshot file that cannot be read or written; str() is one line."""
