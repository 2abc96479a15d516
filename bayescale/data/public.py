"""Loaders for three public scaling-law data sets, as tidy tables named for the laws.

Each loader takes the data root (the folder holding ``gadre_overtraining/``, ``gemstones/``
and ``laion_clip_mammut/``, e.g. ``../shared/data``), reads the files as their authors
released them (see each folder's ``SOURCE.md`` for origin and licence) and returns a fresh
DataFrame, one row per evaluated model or checkpoint, with columns named as the laws name
their inputs (``N``, ``D``, ``M``, ``C``, ``step``, ``loss``) plus keys (``run``, ``family``,
...). Nothing is filtered silently: every choice of rows is the caller's, and a missing file
raises :class:`~bayescale.data.DataError` naming it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from bayescale.data.io import DataError
from bayescale.data.schedule import DEFAULT_DECAY, add_annealing_areas

#: Gadre et al.'s four small architectures (11M, 79M, 154M, 411M parameters).
GADRE_SMALL = ("d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8", "d=1024_l=24_h=8")
GADRE_DATASETS = ("c4_original", "rpj", "rw_original")


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise DataError(
            f"{what} not found at {path}; expected the shared data folder layout described in "
            "its SOURCE.md (pass the folder that holds gadre_overtraining/, gemstones/, "
            "laion_clip_mammut/)"
        )
    return path


def _eval_name(val_data: list[str]) -> str:
    """Gadre et al.'s name of an evaluation set (their ``parse_model_json`` rule)."""
    parts = val_data[0].split("/")
    return parts[-1].split(".")[0] if "de-en" in parts[-2] else parts[-2]


def load_gadre(root: str | Path, *, eval_set: str = "c4_val") -> pd.DataFrame:
    """The 104 open_lm models of Gadre et al. (2024), one row per model.

    Parameters
    ----------
    root
        The shared data root (holding ``gadre_overtraining/exp_data/models/*.json``).
    eval_set
        Which of the eight loss evaluations is ``loss``: ``"c4_val"`` (the paper's C4 eval,
        the default), ``"openlm"``, ``"paloma_c4_en"``, ``"paloma_falcon-refinedweb"``,
        ``"paloma_redpajama"``, ``"paloma_ptb"``,
        ``"paloma_dolma_100_programing_languages"`` or ``"val_de-en_100"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``run`` (file stem), ``dataset`` (``c4_original``, ``rpj``, ``rw_original``),
        ``model`` (architecture name), ``N`` (parameters), ``D`` (tokens), ``M = D / N``
        (tokens per parameter, 20 x the Chinchilla multiplier), ``C = 6 N D``, ``loss`` and
        its 95% interval over sequences ``loss_lower`` / ``loss_upper``; sorted by ``run``.

    Raises
    ------
    DataError
        If the folder or the evaluation set is missing.
    """
    folder = _need(Path(root) / "gadre_overtraining" / "exp_data" / "models", "Gadre et al. data")
    rows = []
    for path in sorted(folder.glob("*.json")):
        meta = json.loads(path.read_text())
        hyper = meta["hyperparameters"]
        evals = {_eval_name(r["val_data"]): r for r in meta["results"]}
        if eval_set not in evals:
            raise DataError(f"{path.name} has no evaluation {eval_set!r}; it has {sorted(evals)}")
        ev = evals[eval_set]
        n, d = float(hyper["params"]), float(hyper["tokens"])
        rows.append(
            {
                "run": path.stem,
                "dataset": meta["dataset_name"],
                "model": Path(hyper["model"]).stem,
                "N": n,
                "D": d,
                "M": d / n,
                "C": 6.0 * n * d,
                "loss": float(ev["loss"]),
                "loss_lower": float(ev["loss_sequences_lower_95"]),
                "loss_upper": float(ev["loss_sequences_upper_95"]),
            }
        )
    if not rows:
        raise DataError(f"no model files (*.json) in {folder}")
    return pd.DataFrame(rows)


def gadre_fit_runs(df: pd.DataFrame) -> pd.Series:
    """Gadre et al.'s five fitting runs per dataset (their Table 2 default), as a mask.

    The four small models at ``M = 20`` plus the 11M model at ``M = 320`` - the points their
    ``scaling_explorer.ipynb`` fits the loss law to.
    """
    at_20 = df["model"].isin(GADRE_SMALL) & np.isclose(df["M"], 20.0)
    return at_20 | ((df["model"] == GADRE_SMALL[0]) & np.isclose(df["M"], 320.0))


def _gemstones_file(root: str | Path, variant: str) -> Path:
    return _need(
        Path(root) / "gemstones" / "wandb_dfs" / f"wandb_df_for_fitting_{variant}.jsonl",
        f"Gemstones variant {variant!r}",
    )


def load_gemstones(root: str | Path, variant: str = "hot") -> pd.DataFrame:
    """Gemstones checkpoint losses (McLeish et al. 2025), one row per checkpoint.

    Parameters
    ----------
    root
        The shared data root (holding ``gemstones/wandb_dfs/``).
    variant
        File suffix: ``"hot"`` (constant learning rate, a checkpoint every ~10B tokens up to
        100B), ``"hot_477"`` (every 477 steps), ``"hot_100b+"``, ``"hot_100b+_477"`` (to
        350B tokens), ``"cool_begin"`` / ``"cool_end"`` (start and end of each cooldown run),
        ``"lr_ablation_hot"``, ...

    Returns
    -------
    pandas.DataFrame
        Columns ``run`` (``"WIDTHxDEPTH"``), ``width``, ``depth``, ``N`` (active parameters,
        embeddings included), ``D`` (tokens seen), ``step``, ``loss`` (training loss at the
        checkpoint); sorted by run and step.

    Raises
    ------
    DataError
        If the file is missing.
    """
    raw = pd.read_json(_gemstones_file(root, variant), orient="records", lines=True)
    run = raw["run_name"].str.replace("PyGemma-", "").str.replace("_pretrain", "")
    out = pd.DataFrame(
        {
            "run": run,
            "width": raw["width"].astype(int),
            "depth": raw["depth"].astype(int),
            "N": raw["params_active_precise"].astype(float),
            "D": raw["tokens"].astype(float),
            "step": raw["step"].astype(int),
            "loss": raw["final_loss"].astype(float),
        }
    )
    return out.sort_values(["run", "step"], ignore_index=True)


def gemstones_cooldowns(root: str | Path) -> pd.DataFrame:
    """Gemstones cooldown runs, one row per run: where it branched and where it ended.

    Each cooldown run restarts a constant-learning-rate run at a checkpoint (``start``) and
    decays the learning rate linearly to 0 over ~10% more steps (``step``, the end). The
    ``cool_begin`` and ``cool_end`` files are paired by order within each model.

    Parameters
    ----------
    root
        The shared data root.

    Returns
    -------
    pandas.DataFrame
        The ``cool_end`` rows (as :func:`load_gemstones`) plus ``start`` (the step the
        cooldown began at) and ``loss_start`` (the loss there).

    Raises
    ------
    DataError
        If a file is missing or the two files do not pair up.
    """
    begin, end = load_gemstones(root, "cool_begin"), load_gemstones(root, "cool_end")
    if not begin["run"].equals(end["run"]) or not bool((end["step"] > begin["step"]).all()):
        raise DataError("Gemstones cool_begin and cool_end files do not pair up run by run")
    return end.assign(start=begin["step"].to_numpy(), loss_start=begin["loss"].to_numpy())


def cooldown_schedule(start: int, end: int) -> np.ndarray:
    """Per-step learning rate (peak 1) of a run held constant to ``start``, then decayed
    linearly to 0 at step ``end`` (a Gemstones cooldown); ``start == end`` is constant.

    Returns
    -------
    numpy.ndarray
        ``lr[i]`` for step ``i + 1``, shape ``(end,)``.
    """
    lr = np.ones(int(end))
    if end > start:
        lr[start:] = (end - np.arange(start + 1, end + 1)) / (end - start)
    return lr


def gemstones_annealing(
    root: str | Path, run: str, *, hot: str = "hot_477", decay: float = DEFAULT_DECAY
) -> pd.DataFrame:
    """One Gemstones model's constant-LR checkpoints and cooldown ends, with ``S1`` and ``S2``.

    Every row is an evaluation at the end of its own learning-rate schedule: a checkpoint of
    the constant run (``kind == "constant"``) or the end of a cooldown run
    (``kind == "cooldown"``, see :func:`gemstones_cooldowns` and :func:`cooldown_schedule`).
    The forward and annealing areas come from
    :func:`~bayescale.data.schedule.add_annealing_areas`, with the learning rate in units of
    its peak (the released files give no absolute value) and no warm-up left out (its length
    is not in the released files either).

    Parameters
    ----------
    root
        The shared data root.
    run
        Model, ``"WIDTHxDEPTH"`` (e.g. ``"1024x28"``).
    hot
        Variant of the constant-LR checkpoints (``"hot_477"``: every 477 steps to 100B tokens;
        ``"hot"``: every ~10B tokens).
    decay
        Momentum factor ``lambda`` of the annealing area.

    Returns
    -------
    pandas.DataFrame
        Columns of :func:`load_gemstones` plus ``kind``, ``start`` (the step the decay began;
        equal to ``step`` for constant checkpoints), ``S1`` and ``S2``; sorted by step.

    Raises
    ------
    DataError
        If a file is missing or the run is unknown.
    """
    const = load_gemstones(root, hot)
    cool = gemstones_cooldowns(root)
    const, cool = const[const["run"] == run], cool[cool["run"] == run]
    if const.empty or cool.empty:
        raise DataError(f"unknown Gemstones run {run!r}; runs: {sorted(set(cool['run']))}")
    table = pd.concat(
        [
            const.assign(kind="constant", start=const["step"]),
            cool.drop(columns="loss_start").assign(kind="cooldown"),
        ],
        ignore_index=True,
    )
    table["branch"] = np.where(table["kind"] == "constant", -1, table["start"])
    parts = []
    for branch, end in table.groupby("branch")["step"].max().items():
        start = end if branch < 0 else branch  # the constant run never decays
        lr = cooldown_schedule(start, end)
        parts.append(pd.DataFrame({"branch": branch, "step": np.arange(1, end + 1), "lr": lr}))
    schedule = pd.concat(parts, ignore_index=True)
    out = add_annealing_areas(table, schedule, group="branch", decay=decay)
    return out.drop(columns="branch").sort_values("step", ignore_index=True)


def load_laion_segmentation(root: str | Path) -> pd.DataFrame:
    """ADE20K segmentation of CLIP and MaMMUT (Nezhurina et al. 2025), one row per model.

    Parameters
    ----------
    root
        The shared data root (holding ``laion_clip_mammut/scaling_laws/data/``).

    Returns
    -------
    pandas.DataFrame
        Columns ``family`` (``"clip"`` or ``"mammut"``), ``model`` (e.g. ``"ViT-B-32"``),
        ``samples_seen``, ``C`` (total training GFLOPs, the paper's ``gflops_total``), ``N``
        (parameters), ``miou`` and ``loss = 1 - miou`` (the error rate the paper fits); sorted
        by family and ``C``.

    Raises
    ------
    DataError
        If the file is missing.
    """
    path = Path(root) / "laion_clip_mammut" / "scaling_laws" / "data"
    raw = pd.read_parquet(_need(path / "segmentation_results.parquet", "LAION segmentation"))
    out = pd.DataFrame(
        {
            "family": raw["namespace"].astype(str),
            "model": raw["model_simple"].astype(str),
            "samples_seen": raw["samples_seen"].astype(float),
            "C": raw["gflops"].astype(float),
            "N": raw["model_mparams"].astype(float) * 1e6,
            "miou": raw["miou"].astype(float),
            "loss": 1.0 - raw["miou"].astype(float),
        }
    )
    return out.sort_values(["family", "C"], ignore_index=True)


def pareto_bins(x: np.ndarray, y: np.ndarray, unit: float = 1500.0) -> np.ndarray:
    """The LAION paper's ``pareto_bin`` frontier: the best point per log-spaced bin of ``x``.

    ``x`` is cut into ``int(log2(max(x) / unit))`` log-spaced bin edges; the lowest ``y``
    of each bin is kept if it beats every kept point at lower ``x``, and the point at the
    largest ``x`` (the lowest ``y`` among ties) is added if it beats them all.

    Parameters
    ----------
    x, y
        Compute and error, ``(n,)`` each (``x > 0``).
    unit
        The paper's bin scale (1,500 GFLOPs).

    Returns
    -------
    numpy.ndarray
        Boolean mask ``(n,)`` of the frontier points.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    edges = np.geomspace(x.min(), x.max(), int(np.log2(x.max() / unit)))
    keep = np.zeros(len(x), dtype=bool)
    best = np.inf
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        idx = np.flatnonzero((x >= lo) & (x < hi))
        if idx.size:
            i = idx[np.argmin(y[idx])]
            if y[i] < best or not keep.any():
                keep[i], best = True, y[i]
    ties = np.flatnonzero(x == x.max())
    top = ties[np.argmin(y[ties])]
    if y[top] < best:
        keep[top] = True
    return keep


__all__ = [
    "GADRE_DATASETS",
    "GADRE_SMALL",
    "cooldown_schedule",
    "gadre_fit_runs",
    "gemstones_annealing",
    "gemstones_cooldowns",
    "load_gadre",
    "load_gemstones",
    "load_laion_segmentation",
    "pareto_bins",
]
