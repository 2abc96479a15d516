"""The manifest of a saved fit: its format version and the size and SHA-256 of every file.

:func:`write_manifest` is called last, once every file of the folder is written, so a folder
with a manifest is complete; :func:`verify_manifest` is called first by
:func:`~bayescale.results.store.load_fit`, so a folder that was truncated, edited by hand,
mixed with another fit's files or written by another format version is refused with one
sentence naming the file and the reason, before anything in it is used.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from bayescale.data.io import DataError

MANIFEST = "manifest.json"
#: What a manifest says it describes.
KIND = "bayescale saved fit"
#: Files a saved fit may hold; any of them present but not in the manifest is refused.
FIT_FILES = (
    "fit.json",
    "meta.json",
    "arrays.npz",
    "starts.csv",
    "draws.npz",
    "draws.json",
    "posterior.nc",
)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: str | Path, format_version: int) -> Path:
    """Write ``manifest.json`` listing every file directly in ``folder`` (call it last).

    Parameters
    ----------
    folder
        The saved fit's folder, every other file already written.
    format_version
        The saved-fit format version.

    Returns
    -------
    pathlib.Path
        The manifest's path.
    """
    folder = Path(folder)
    files = {
        p.name: {"bytes": p.stat().st_size, "sha256": sha256(p)}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")
    }
    doc = {"kind": KIND, "format_version": int(format_version), "files": files}
    path = folder / MANIFEST
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def verify_manifest(folder: str | Path, format_version: int) -> dict:
    """Check a saved fit's folder against its manifest; returns the manifest.

    Parameters
    ----------
    folder
        The folder.
    format_version
        The format version this bayescale reads.

    Returns
    -------
    dict
        The manifest (``kind``, ``format_version``, ``files``).

    Raises
    ------
    DataError
        If the folder is missing or is not a folder; the manifest is missing (an interrupted
        save, another program's folder, or a fit saved before manifests: format version 1),
        unreadable, or of another format version; a file it lists is missing, of another
        size (truncated) or another SHA-256 (changed after saving); or a saved-fit file is
        present that it does not list (left over from another fit).
    """
    folder = Path(folder)
    where = str(folder)
    if not folder.exists():
        raise DataError(f"saved fit {where!r} not found")
    if not folder.is_dir():
        raise DataError(f"{where!r} is a file; a saved fit is the folder written by --out")
    path = folder / MANIFEST
    if not path.is_file():
        known = [n for n in FIT_FILES if (folder / n).is_file()]
        why = (
            "its save was interrupted, or it was written by a bayescale older than format "
            f"version {format_version} (save the fit again)"
            if known
            else "it holds none of a saved fit's files (give the folder written by --out)"
        )
        raise DataError(f"{where!r} is not a complete saved fit: {MANIFEST} is missing; {why}")
    try:
        doc = json.loads(path.read_text())
        files = doc["files"]
        version = doc["format_version"]
        if doc.get("kind") != KIND or not isinstance(files, dict):
            raise ValueError("not a bayescale manifest")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise DataError(f"{where}/{MANIFEST} is damaged ({err}); save the fit again") from err
    if version != format_version:
        raise DataError(
            f"{where!r} is a saved fit of format version {version!r}; this bayescale reads "
            f"format version {format_version}: save the fit again with this version"
        )
    for name, entry in files.items():
        p = folder / name
        if not p.is_file():
            raise DataError(f"{where}/{name} is missing (listed in {MANIFEST}); save the fit again")
        size = p.stat().st_size
        if size != entry.get("bytes"):
            raise DataError(
                f"{where}/{name} was changed after it was saved: it has {size} bytes, "
                f"{MANIFEST} says {entry.get('bytes')} (truncated or edited); save the fit again"
            )
        if sha256(p) != entry.get("sha256"):
            raise DataError(
                f"{where}/{name} was changed after it was saved (its SHA-256 differs from "
                f"{MANIFEST}); restore it or save the fit again"
            )
    stray = [n for n in FIT_FILES if (folder / n).is_file() and n not in files]
    if stray:
        raise DataError(
            f"{where}/{stray[0]} is not part of the saved fit (not in {MANIFEST}; left over "
            "from another fit?); remove it or save the fit again"
        )
    return doc
