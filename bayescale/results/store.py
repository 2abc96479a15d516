"""Save and load fits: a directory with ``fit.json``, ``starts.csv`` and ``arrays.npz``.

``fit.json`` is the human-readable summary (the CLI's ``--json`` output); ``arrays.npz``
holds every array losslessly, so :func:`load_fit` returns a :class:`~bayescale.Fit`
equal to the one saved, bit for bit. ``starts.csv`` lists each start's final parameters,
objective, status and steps for a spreadsheet. A fit with draws adds ``draws.npz``,
``draws.json`` and ``posterior.nc``: the draws' arviz InferenceData in natural names for every
engine (:meth:`~bayescale.Draws.to_inferencedata`), for ``az.from_netcdf``; :func:`load_fit`
reads it back only where the saved draws held one (NUTS), so the round trip stays exact.

A save is atomic and verified: the files are written into a hidden sibling folder, then
``manifest.json`` (the format version, and the size and SHA-256 of every file;
:mod:`~bayescale.results.manifest`) last, then the folder is renamed into place
(:mod:`~bayescale.results.atomic`). :func:`load_fit` checks the manifest first and refuses,
naming the file and the reason, a folder that was truncated, edited, mixed with another fit's
files, interrupted, or written by another format version.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from bayescale.data.io import DataError
from bayescale.data.preparation import Prepared
from bayescale.infer.idata import import_arviz
from bayescale.laws.registry import get_law
from bayescale.laws.spec import Law, to_natural
from bayescale.likelihood import Loss, Noise, fit_names, params
from bayescale.optimize.multistart import FitConfig, MultiStartResult
from bayescale.results.atomic import atomic_dir
from bayescale.results.manifest import verify_manifest, write_manifest
from bayescale.results.records import Draws, Fit
from bayescale.status import NAMES

#: Version 2: a manifest.json is written last and verified on loading.
FORMAT_VERSION = 2


def save_fit(fit: Fit, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``fit`` to the folder ``out``, atomically, with a manifest; returns the path.

    Parameters
    ----------
    fit
        The fit, with or without draws.
    out
        The folder: new, empty, or (with ``overwrite``) replaced whole.
    overwrite
        Replace an existing non-empty folder whole; without it such a folder is refused, so
        files of an earlier fit are never mixed with this one's.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    bayescale.results.atomic.OutputError
        If ``out`` is a file, or a non-empty folder without ``overwrite``.
    """
    with atomic_dir(out, overwrite=overwrite) as tmp:
        write_fit_files(fit, tmp)
        write_manifest(tmp, FORMAT_VERSION)
    return Path(out)


def write_fit_files(fit: Fit, out: str | Path) -> Path:
    """Write the files of ``fit`` into the folder ``out`` (no manifest; see :func:`save_fit`).

    Parameters
    ----------
    fit
        The fit, with or without draws.
    out
        The folder (created if missing).

    Returns
    -------
    pathlib.Path
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = fit.to_dict()
    summary["format_version"] = FORMAT_VERSION
    (out / "fit.json").write_text(json.dumps(summary, indent=2) + "\n")
    r = fit.result
    arrays = {f"result.{k}": np.asarray(v) for k, v in r._asdict().items()}
    d = fit.data
    arrays.update({f"x.{k}": np.asarray(v) for k, v in d.x.items()})
    arrays["loss"] = np.asarray(d.loss)
    arrays["rows"] = np.asarray(d.rows).astype(str) if d.rows.dtype == object else d.rows
    np.savez(out / "arrays.npz", **arrays)
    meta = {
        "law": fit.law.name,
        "natural_sigma": True,
        "objective": {"type": type(fit.objective).__name__, **fit.objective._asdict()},
        "starts": fit.starts,
        "config": fit.config.settings(),
        "seconds": fit.seconds,
        "data": {
            "columns": {k: str(v) for k, v in d.columns.items()},
            "derived": d.derived,
            "flops_per_token": d.flops_per_token,
            "filters": list(d.filters),
            "n_input_rows": d.n_input_rows,
            "x_order": list(d.x),
            "warnings": list(d.warnings),
        },
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    names = fit_names(fit.law, fit.objective)
    table = pd.DataFrame(np.asarray(r.start_theta), columns=list(names))
    table["objective"] = np.asarray(r.start_objective)
    table["status"] = [NAMES[int(s)] for s in np.asarray(r.start_status)]
    table["steps"] = np.asarray(r.start_steps)
    table.index.name = "start"
    table.to_csv(out / "starts.csv")
    draws = getattr(fit, "draws", None)
    for stale in ("draws.npz", "draws.json", "posterior.nc"):
        (out / stale).unlink(missing_ok=True)
    if draws is not None:
        np.savez(out / "draws.npz", theta=draws.theta, status=draws.status)
        info = {
            k: getattr(draws, k)
            for k in ("method", "names", "diagnostics", "warnings", "settings", "seconds")
        }
        info["idata"] = draws.idata is not None  # whether load_fit reads posterior.nc back
        (out / "draws.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
        draws.to_inferencedata(fit).to_netcdf(str(out / "posterior.nc"))
    return out


def load_fit(path: str | Path, law: Law | None = None, *, verify: bool = True) -> Fit:
    """Load a fit saved by :func:`save_fit` (exactly as it was saved), after checking it.

    Parameters
    ----------
    path
        The directory.
    law
        The law, for a fit of a law that is not registered (the directory records only its
        name); by default the registered law of that name.
    verify
        Check the folder against its manifest first
        (:func:`~bayescale.results.manifest.verify_manifest`). ``False`` reads whatever is
        there (e.g. a folder saved before manifests), at the caller's risk.

    Returns
    -------
    Fit

    Raises
    ------
    DataError
        If the folder or its manifest is missing, a file is missing, truncated, edited or not
        in the manifest, the format version differs, a file cannot be read, the draws are
        empty, or ``law`` has another name; the message names the file and the reason.
    KeyError
        If the saved law is not registered and ``law`` is not given.
    """
    path = Path(path)
    if verify:
        verify_manifest(path, FORMAT_VERSION)
    try:
        fit = read_fit_files(path, law)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path} cannot be read as a saved fit: {err}") from err
    if fit.draws is not None and fit.draws.theta.size == 0:
        raise DataError(f"{path}/draws.npz holds no draws; save the fit again with its draws")
    return fit


def read_fit_files(path: str | Path, law: Law | None = None) -> Fit:
    """Read a saved fit's files without checking its manifest (see :func:`load_fit`).

    Parameters
    ----------
    path
        The directory.
    law
        The law, for a fit of a law that is not registered.

    Returns
    -------
    Fit

    Raises
    ------
    DataError
        If ``meta.json`` or ``arrays.npz`` is missing, or ``law`` has another name.
    KeyError
        If the saved law is not registered and ``law`` is not given.
    """
    path = Path(path)
    for name in ("meta.json", "arrays.npz"):
        if not (path / name).is_file():
            raise DataError(f"{path} is not a saved bayescale fit: {name} is missing")
    meta = json.loads((path / "meta.json").read_text())
    with np.load(path / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    result = MultiStartResult(
        **{k[len("result.") :]: v for k, v in arrays.items() if k.startswith("result.")}
    )
    if law is not None and law.name != meta["law"]:
        raise DataError(f"{path} holds a fit of law {meta['law']!r}, not {law.name!r}")
    law = get_law(meta["law"]) if law is None else law
    spec = dict(meta["objective"])
    objective = (Noise if spec.pop("type") == "Noise" else Loss)(**spec)
    if isinstance(objective, Noise) and not meta.get("natural_sigma"):
        # Saved before the noise scale was reported as sigma: params held log_sigma.
        result = result._replace(params=to_natural(params(law, objective), result.theta))
    dm = meta["data"]
    prepared = Prepared(
        x={k: arrays[f"x.{k}"] for k in dm["x_order"]},
        loss=arrays["loss"],
        rows=arrays["rows"],
        columns=dm["columns"],
        derived=dm["derived"],
        flops_per_token=dm["flops_per_token"],
        filters=tuple(dm["filters"]),
        n_input_rows=dm["n_input_rows"],
        warnings=tuple(dm.get("warnings", ())),
    )
    draws = None
    if (path / "draws.npz").is_file():
        info = json.loads((path / "draws.json").read_text())
        with np.load(path / "draws.npz") as z:
            theta, status = z["theta"], z["status"]
        idata = None
        # Directories saved before every engine had a posterior.nc wrote it for NUTS only.
        if info.get("idata", True) and (path / "posterior.nc").is_file():
            idata = import_arviz().from_netcdf(str(path / "posterior.nc"))
        draws = Draws(
            method=info["method"],
            theta=theta,
            names=tuple(info["names"]),
            status=status,
            diagnostics=info["diagnostics"],
            warnings=tuple(info["warnings"]),
            settings=info["settings"],
            seconds=info["seconds"],
            idata=idata,
        )
    return Fit(
        law=law,
        objective=objective,
        data=prepared,
        starts=meta["starts"],
        config=FitConfig(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()}
        ),
        result=result,
        seconds=meta["seconds"],
        draws=draws,
    )
