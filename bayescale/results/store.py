"""Save and load fits: a directory with ``fit.json``, ``starts.csv`` and ``arrays.npz``.

``fit.json`` is the human-readable summary (the CLI's ``--json`` output); ``arrays.npz``
holds every array losslessly, so :func:`load_fit` returns a :class:`~bayescale.Fit`
equal to the one saved, bit for bit. ``starts.csv`` lists each start's final parameters,
objective, status and steps for a spreadsheet.
"""

from __future__ import annotations

import json
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
from bayescale.results.records import Draws, Fit
from bayescale.status import NAMES

FORMAT_VERSION = 1


def save_fit(fit: Fit, out: str | Path) -> Path:
    """Write ``fit`` to directory ``out``; returns the path.

    Parameters
    ----------
    fit
        The fit, with or without draws.
    out
        The directory (created if missing).

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
        "config": fit.config._asdict(),
        "seconds": fit.seconds,
        "data": {
            "columns": {k: str(v) for k, v in d.columns.items()},
            "derived": d.derived,
            "flops_per_token": d.flops_per_token,
            "filters": list(d.filters),
            "n_input_rows": d.n_input_rows,
            "x_order": list(d.x),
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
        (out / "draws.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
        if draws.idata is not None:
            draws.idata.to_netcdf(str(out / "posterior.nc"))
    return out


def load_fit(path: str | Path, law: Law | None = None) -> Fit:
    """Load a fit saved by :func:`save_fit` (exactly as it was saved).

    Parameters
    ----------
    path
        The directory.
    law
        The law, for a fit of a law that is not registered (the directory records only its
        name); by default the registered law of that name.

    Returns
    -------
    Fit

    Raises
    ------
    DataError
        If the directory or one of its files is missing, or ``law`` has another name.
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
    )
    draws = None
    if (path / "draws.npz").is_file():
        info = json.loads((path / "draws.json").read_text())
        with np.load(path / "draws.npz") as z:
            theta, status = z["theta"], z["status"]
        idata = None
        if (path / "posterior.nc").is_file():
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
        config=FitConfig(**meta["config"]),
        result=result,
        seconds=meta["seconds"],
        draws=draws,
    )
