"""Atomic outputs: a folder or file appears whole under its name, or not at all.

Everything is written into a hidden sibling, ``.NAME.partial-PID``, and renamed onto ``NAME``
when complete (:func:`atomic_dir`, :func:`write_atomic`). An existing non-empty folder is
never mixed with new files: it is refused (:func:`check_target`), or with ``overwrite`` moved
aside to ``.NAME.old-PID`` and removed once the new one is in place, so it is replaced whole.
A run killed by a signal leaves only the hidden siblings, which :func:`discard_partial`
removes (the command line calls it from its signal watcher).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


class OutputError(ValueError):
    """An output path that cannot be written as asked (exit code 2 on the command line)."""


def partial_path(target: str | os.PathLike) -> Path:
    """The hidden sibling ``.NAME.partial-PID`` that ``target`` is written into first."""
    target = Path(target)
    return target.parent / f".{target.name}.partial-{os.getpid()}"


def old_path(target: str | os.PathLike) -> Path:
    """The hidden sibling ``.NAME.old-PID`` an overwritten folder is moved to while replaced."""
    target = Path(target)
    return target.parent / f".{target.name}.old-{os.getpid()}"


def check_target(
    target: str | os.PathLike, *, overwrite: bool = False, kind: str = "folder"
) -> Path:
    """Check that ``target`` can be written, before any work is done.

    Parameters
    ----------
    target
        The output folder (``kind="folder"``) or file (``kind="file"``).
    overwrite
        A folder: allow replacing an existing non-empty one (whole). Files are always replaced.
    kind
        ``"folder"`` or ``"file"``.

    Returns
    -------
    pathlib.Path
        ``target`` as a path.

    Raises
    ------
    OutputError
        A folder target that is a file, or a non-empty folder without ``overwrite``; a file
        target that is a folder; a parent that is a file.
    """
    target = Path(target)
    if kind not in ("folder", "file"):
        raise ValueError(f"kind must be 'folder' or 'file', got {kind!r}")
    for parent in target.parents:
        if parent.exists() and not parent.is_dir():
            raise OutputError(f"cannot write {str(target)!r}: {str(parent)!r} is a file")
    if kind == "file":
        if target.is_dir():
            raise OutputError(
                f"{str(target)!r} is a folder; give a file name for the output, e.g. "
                f"{str(target / 'report.html')!r}"
            )
        return target
    if target.exists() and not target.is_dir():
        raise OutputError(f"{str(target)!r} is a file, not a folder; choose a folder for --out")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise OutputError(
            f"{str(target)!r} exists and is not empty; choose a new folder, or pass "
            "--overwrite (overwrite=True) to replace it whole"
        )
    return target


def remove(path: Path) -> None:
    """Remove a file or folder if it exists (errors ignored)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def commit(tmp: Path, target: Path, *, overwrite: bool = False) -> Path:
    """Move the finished ``tmp`` onto ``target`` (replacing an existing folder whole if
    ``overwrite``); returns ``target``."""
    check_target(target, overwrite=overwrite)
    if target.is_dir() and any(target.iterdir()):
        old = old_path(target)
        remove(old)
        os.rename(target, old)
        os.rename(tmp, target)
        remove(old)
    else:
        if target.is_dir():
            target.rmdir()
        os.rename(tmp, target)
    return target


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Write a folder atomically: yields an empty hidden sibling to write into, renamed onto
    ``target`` when the block ends without an error (and removed when it does not).

    Parameters
    ----------
    target
        The folder to create (its parents are created).
    overwrite
        Replace an existing non-empty ``target`` whole; without it such a folder is refused,
        before the block runs.

    Yields
    ------
    pathlib.Path
        The temporary folder.

    Raises
    ------
    OutputError
        As :func:`check_target`.
    """
    target = check_target(target, overwrite=overwrite)
    tmp = partial_path(target)
    remove(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        commit(tmp, target, overwrite=overwrite)
    except BaseException:
        remove(tmp)
        raise


def write_atomic(target: str | os.PathLike, data: str | bytes) -> Path:
    """Write one file atomically (a hidden sibling, then a rename); returns the path.

    Raises
    ------
    OutputError
        If ``target`` is a folder.
    """
    target = check_target(target, kind="file")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(target)
    try:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        remove(tmp)
        raise
    return target


def discard_partial(target: str | os.PathLike) -> None:
    """Remove what an interrupted write of ``target`` left (this process's hidden siblings),
    and put back a folder that was being replaced."""
    target = Path(target)
    remove(partial_path(target))
    old = old_path(target)
    if old.exists():
        if not target.exists():
            os.rename(old, target)
        else:
            remove(old)
