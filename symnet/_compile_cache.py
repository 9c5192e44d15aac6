"""JAX's persistent compilation cache, on by default, so compiles are paid once per machine.

A search compiles one training program per architecture and data shape (seconds each on
one CPU core); under a small ``max_time`` that is most of the budget. With the cache, a
program compiled by any earlier process on the machine is loaded from disk instead.

Where the cache lives, in order:

1. ``jax_compilation_cache_dir`` if the user set it (JAX's own setting is left alone);
2. the environment variable ``SYMNET_CACHE_DIR`` (empty, ``0``, ``off`` or ``none``
   disables the cache);
3. ``$XDG_CACHE_HOME/symnet/jax`` (default ``~/.cache/symnet/jax``).

:func:`set_cache_dir` overrides all three for the process. The cache is turned on by the
first fit (:func:`enable`), not at import, and a directory that cannot be created or
written leaves it off (fits still run, compiling as before).
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
from jax.experimental.compilation_cache import compilation_cache

__all__ = ["cache_dir", "enable", "set_cache_dir"]

_OFF = {"", "0", "off", "none", "false"}
_override: list[str | None] = []  # set_cache_dir's choice (empty: not called)


def set_cache_dir(path: str | os.PathLike | None) -> None:
    """Use ``path`` for the persistent compilation cache of later fits; None disables it
    (``symnet.set_cache_dir(None)`` at the top of a script: every compile is fresh)."""
    _override[:] = [None if path is None else os.fspath(path)]
    if path is None:
        _configure(False, None)


def cache_dir() -> str | None:
    """The directory fits use for compiled programs (None: no persistent cache)."""
    if _override:
        return _override[0]
    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    env = os.environ.get("SYMNET_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in _OFF else env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return os.path.join(base, "symnet", "jax")


def enable() -> str | None:
    """Turns the persistent cache on at :func:`cache_dir` (if it can be written); returns
    the directory in use, or None. Programs that compile in under 0.1 s are not stored."""
    path = cache_dir()
    if path is None:
        return None
    if jax.config.jax_compilation_cache_dir == path and jax.config.jax_enable_compilation_cache:
        return path
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    if not os.access(path, os.W_OK | os.X_OK):
        return None
    _configure(True, path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)
    return path


def _configure(on: bool, path: str | None) -> None:
    """JAX's cache settings; JAX decides once per process whether it uses the cache, so
    its cache state is reset for the new settings to take effect."""
    jax.config.update("jax_enable_compilation_cache", on)
    jax.config.update("jax_compilation_cache_dir", path)
    compilation_cache.reset_cache()
