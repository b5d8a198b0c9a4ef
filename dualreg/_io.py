"""Atomic file writes: a temporary file in the same folder, then ``os.replace``; and atomic
*sets* of files (a figure's PNG, PDF, data and index; a report's JSON and Markdown): written
into a temporary folder beside their targets, then moved into place together with Ctrl-C held
back, so an interrupt leaves the old complete set or the new complete set."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = ""
    try:
        with deferred_interrupt():  # a Ctrl-C lands inside the try: the file is removed
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.",
                                       suffix=suffix or target.suffix, dir=target.parent)
            os.close(fd)
        yield Path(tmp)
        # mkstemp creates the file private (0600); give it the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def save_figure(fig: Any, path: str | os.PathLike, **kwargs: Any) -> None:
    """``fig.savefig`` to ``path`` atomically (format from the suffix)."""
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format=target.suffix.lstrip(".") or "png", **kwargs)


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold SIGINT back (blocked, not lost) for the duration: a Ctrl-C that arrives inside is
    delivered, as KeyboardInterrupt, right after. A no-op off the main thread."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def atomic_set(folder: str | os.PathLike, remove: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield a fresh temporary folder inside ``folder``; on success every file written into it
    replaces its namesake in ``folder``, all of them under :func:`deferred_interrupt` (and the
    names in ``remove`` are deleted there in the same step). On an exception, or an interrupt
    before the move, nothing in ``folder`` changes. The temporary folder is always removed.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        with deferred_interrupt():  # a Ctrl-C lands inside the try: the folder is removed
            tmp = Path(tempfile.mkdtemp(prefix=".dualreg-set-", dir=target))
        yield tmp
        names = sorted(p.name for p in tmp.iterdir() if p.is_file())
        with deferred_interrupt():
            for name in names:
                os.replace(tmp / name, target / name)
            for name in remove:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target / name)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def check_writable_folder(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and prove it writable (a probe file, created and deleted),
    before any work is done. Raises ``OSError`` (``NotADirectoryError`` for a file)."""
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(20, "exists and is not a folder", str(target))
    target.mkdir(parents=True, exist_ok=True)
    with deferred_interrupt():  # a Ctrl-C here must not leave the probe behind
        fd, probe = tempfile.mkstemp(prefix=".dualreg-probe-", dir=target)
        os.close(fd)
        os.unlink(probe)
    return target
