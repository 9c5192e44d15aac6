"""The installed distribution's version (package metadata), one source of truth."""

from __future__ import annotations

from importlib import metadata

__all__ = ["version"]


def version() -> str:
    """``symnet``'s version from its installed metadata (``pyproject.toml``)."""
    try:
        return metadata.version("symnet")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "0+unknown"
