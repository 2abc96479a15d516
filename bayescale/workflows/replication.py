"""The main job: replicate Besiroglu et al.'s (2024) Chinchilla analysis in one call.

Steps, each saved under ``out/``:

1. ``grid/`` - the summed-Huber fit from the 4,500-point Hoffmann grid ("replicate exactly");
2. ``bootstrap/`` - the MLE-Huber fit and its 4,000-resample bootstrap;
3. ``nuts/`` - the NumPyro NUTS posterior of the same likelihood;
4. ``critique.json`` - Hoffmann et al.'s published parameters tested against the bootstrap,
   and ``epoch/`` with ``critique_epoch.json`` - the same critique under Epoch AI's protocol
   (:data:`~bayescale.predict.protocols.PROTOCOLS` ``besiroglu2024``: Huber-loss refits from
   Hoffmann's unrounded values on Epoch's resamples, delta method at the draws' mean) against
   the unrounded values, beside the default bootstrap's critique of the same values;
5. ``backtest/`` and ``report.html`` - a backtest of the law inside the data (refits below 4
   cutoffs of C, :func:`~bayescale.workflows.backtesting.backtest`) and the posterior report,
   whose "Will it extrapolate?" section it feeds.

``out/`` is written atomically (:func:`~bayescale.results.atomic.atomic_dir`): whole, or not
at all; an existing non-empty ``out/`` is refused unless ``overwrite``, then replaced whole.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from bayescale.infer.types import NutsConfig
from bayescale.likelihood import Noise
from bayescale.optimize.multistart import FitConfig
from bayescale.predict.protocols import get_protocol, protocol_options
from bayescale.report.build import write_report
from bayescale.report.headline import planner_headline
from bayescale.report.units import flops
from bayescale.results.atomic import atomic_dir, check_target
from bayescale.results.records import draws_summary
from bayescale.results.store import save_fit
from bayescale.results.summaries import allocation_summary, critique_summary
from bayescale.workflows.backtesting import backtest
from bayescale.workflows.fitting import fit
from bayescale.workflows.uncertainty import bootstrap, nuts

REPLICATIONS = ("chinchilla",)
#: The published critique the replication reproduces beside its own.
PROTOCOL = "besiroglu2024"
#: Bootstrap resamples per backtest refit (at most), and the optimiser settings of the
#: backtest's batch (the large-batch settings of :func:`~bayescale.fit_groups`).
BACKTEST_RESAMPLES = 200
BACKTEST_CONFIG = FitConfig(polish=4, max_steps=300, restarts=0)


class ReplicationSettings(NamedTuple):
    """Sizes of the replication's steps (the defaults are the paper's)."""

    resamples: int = 4000
    chains: int = 4
    warmup: int = 1000
    draws: int = 1000
    seed: int = 42
    budgets: tuple[float, ...] = (5.88e23, 1e24, 1e25)


def replicate(
    name: str,
    out: str | Path,
    settings: ReplicationSettings = ReplicationSettings(),
    *,
    log: Callable[[str], None] = print,
    progress: bool = False,
    command: str | None = None,
    overwrite: bool = False,
) -> dict:
    """Run the whole replication and write it to ``out``; returns a JSON-ready summary.

    Parameters
    ----------
    name
        Which replication: ``"chinchilla"``.
    out
        Output directory.
    settings
        Resamples, NUTS sizes, seed and budgets.
    log
        Called with a line of progress text per step.
    progress
        Show progress bars for the bootstrap and NUTS.
    command
        The command line, recorded in the report.
    overwrite
        Replace an existing non-empty ``out`` whole (without it, such a folder is refused
        before anything runs).

    Raises
    ------
    ValueError
        On an unknown replication name;
        :class:`~bayescale.results.atomic.OutputError` for an ``out`` that is a file, or a
        non-empty folder without ``overwrite``.
    """
    if name not in REPLICATIONS:
        raise ValueError(f"unknown replication {name!r}; available: {list(REPLICATIONS)}")
    final = check_target(out, overwrite=overwrite)
    with atomic_dir(final, overwrite=overwrite) as tmp:
        return write_replication(tmp, final, settings, log, progress, command)


def write_replication(
    out: Path,
    final: Path,
    settings: ReplicationSettings,
    log: Callable[[str], None],
    progress: bool,
    command: str | None,
) -> dict:
    """The steps of :func:`replicate`, written into ``out`` (renamed to ``final`` when done;
    the summary and log name ``final``)."""
    t0 = time.perf_counter()
    kw = {"starts": "hoffmann", "drop_top_losses": 5}

    grid = fit("example:chinchilla", "chinchilla", **kw)
    save_fit(grid, out / "grid")
    log(f"[1/5] Hoffmann-grid fit (4,500 starts, summed Huber): {grid.seconds:.1f} s")

    mle = fit("example:chinchilla", "chinchilla", loss=Noise("huber", 1e-3), **kw)
    boot = bootstrap(mle, settings.resamples, seed=settings.seed, progress=progress)
    boot_fit = mle._replace(draws=boot)
    save_fit(boot_fit, out / "bootstrap")
    log(f"[2/5] MLE-Huber fit + {settings.resamples} bootstrap refits: {boot.seconds:.1f} s")

    cfg = NutsConfig(
        num_chains=settings.chains,
        num_warmup=settings.warmup,
        num_samples=settings.draws,
        seed=settings.seed,
    )
    post = nuts(mle, cfg, progress=progress)
    nuts_fit = mle._replace(draws=post)
    save_fit(nuts_fit, out / "nuts")
    log(
        f"[3/5] NUTS {settings.chains} x {settings.warmup} + {settings.draws}: "
        f"{post.seconds:.1f} s, {post.diagnostics['divergences']} divergences"
    )

    budgets = list(settings.budgets)
    crit = critique_summary(boot_fit, "hoffmann2022", budgets)
    (out / "critique.json").write_text(json.dumps(crit, indent=2) + "\n")
    proto = get_protocol(PROTOCOL)
    opts = protocol_options(PROTOCOL, settings.resamples)
    epoch_fit = mle._replace(draws=bootstrap(mle, **opts, progress=progress))
    save_fit(epoch_fit, out / "epoch")
    ecrit = critique_summary(epoch_fit, proto.reference, budgets, delta_at=proto.delta_at)
    (out / "epoch" / "critique_epoch.json").write_text(json.dumps(ecrit, indent=2) + "\n")
    same_ref = critique_summary(boot_fit, proto.reference, budgets)
    epoch = protocol_summary(ecrit, same_ref, epoch_fit.draws)
    log(
        f"[4/5] critique against hoffmann2022: Wald chi2 {crit['wald_chi2']:.1f}; Epoch's "
        f"protocol ({settings.resamples} Huber-loss refits, "
        f"{epoch_fit.draws.seconds:.1f} s) against {proto.reference}: "
        f"{epoch['wald_chi2']:.1f} (default bootstrap: {epoch['default_wald_chi2']:.1f})"
    )

    bt = backtest(
        "example:chinchilla",
        "chinchilla",
        method="bootstrap",
        n_resamples=min(settings.resamples, BACKTEST_RESAMPLES),
        seed=settings.seed,
        drop_top_losses=5,
        config=BACKTEST_CONFIG,
        progress=progress,
    )
    (out / "backtest").mkdir(exist_ok=True)
    bt.points.to_csv(out / "backtest" / "points.csv", index=False)
    (out / "backtest" / "summary.json").write_text(json.dumps(bt.to_dict(), indent=2) + "\n")
    report = write_report(
        boot_fit,
        out / "report.html",
        against="hoffmann2022",
        budgets=settings.budgets,
        command=command,
        backtest=bt,
        protocol_critique=epoch,
        others={"nuts": nuts_fit},
    )
    cov = bt.coverage[bt.coverage["nominal"] == 0.9]["coverage"].iloc[0]
    log(
        f"[5/5] backtest ({len(bt.lanes)} refits below cutoffs of C; 90% intervals cover "
        f"{cov:.0%} of {int(bt.coverage['n'].iloc[0])} held-out runs) and report: "
        f"{final / report.relative_to(out)}"
    )

    alloc = allocation_summary(boot_fit, [settings.budgets[0]], grid.data.flops_per_token)
    tpp = alloc["budgets"][0]["tokens_per_param"]
    bsum, nsum = draws_summary(mle, boot), draws_summary(mle, post)
    a_b, a_n = bsum["derived"]["a"], nsum["derived"]["a"]
    runs = crit["runs_needed"]["a"]
    summary = {
        "headline": planner_headline(boot_fit, settings.budgets[0]),
        "grid_fit": grid.params,
        "grid_objective": float(grid.result.objective),
        "mle_fit": mle.params,
        "a_bootstrap": a_b,
        "a_nuts": a_n,
        "tokens_per_param": {"compute": settings.budgets[0], **tpp},
        "runs_needed_a": {
            k: runs[k] for k in ("claimed_width", "our_width", "delta_method", "bootstrap")
        },
        "wald": {"chi2": crit["wald_chi2"], "df": crit["wald_df"], "p": crit["wald_p"]},
        "epoch_protocol": epoch,
        "nuts_diagnostics": post.diagnostics,
        "backtest_coverage": {str(r.nominal): r.coverage for r in bt.coverage.itertuples()},
        "report": str(final / report.relative_to(out)),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    return summary


def protocol_summary(protocol: dict, default: dict, draws: object) -> dict:
    """The critique under a published protocol beside the default bootstrap's, JSON-ready.

    Parameters
    ----------
    protocol
        :func:`~bayescale.results.summaries.critique_summary` of the protocol's draws.
    default
        The same critique (same reference) of the default bootstrap's draws.
    draws
        The protocol's :class:`~bayescale.infer.types.Draws`.

    Returns
    -------
    dict
        Wald statistics with their Monte Carlo SEs and smallest-direction shares, runs needed
        for the exponent ``a`` (delta method and draws, with SEs), and natural-space SDs.
    """
    runs = protocol["runs_needed"]["a"]
    return {
        "protocol": protocol["protocol"] or PROTOCOL,
        "reference": protocol["reference"],
        "n_resamples": int(draws.settings["n_resamples"]),
        "n_unconverged": int(draws.diagnostics["n_unconverged"]),
        "wald_chi2": protocol["wald_chi2"],
        "wald_mc_se": protocol["wald_mc_se"],
        "wald_p": protocol["wald_p"],
        "smallest_share": protocol["wald_directions"]["smallest_share"],
        "default_wald_chi2": default["wald_chi2"],
        "default_wald_p": default["wald_p"],
        "default_smallest_share": default["wald_directions"]["smallest_share"],
        "runs_needed_delta": runs["delta_method"],
        "runs_needed_delta_mc_se": runs["delta_method_mc_se"],
        "runs_needed_draws": runs["bootstrap"],
        "runs_needed_draws_mc_se": runs["bootstrap_mc_se"],
        "sd": {k: t["se"] for k, t in protocol["tests"].items()},
    }


def summary_lines(s: dict) -> list[str]:
    """The 7-line plain summary of a replication: the report's headline (planner units at the
    first budget), then the replication's numbers (medians over the draws, as in the report)."""
    e = s["epoch_protocol"]
    g, ab, an, t, r, w = (
        s["grid_fit"],
        s["a_bootstrap"],
        s["a_nuts"],
        s["tokens_per_param"],
        s["runs_needed_a"],
        s["wald"],
    )
    return [
        f"{s['headline'][:-1]} (bootstrap medians and 90% intervals; NUTS beside them in the "
        "report)",
        f"Refit (Hoffmann grid, summed Huber): E {g['E']:.4f}, A {g['A']:.1f}, B {g['B']:.1f}, "
        f"alpha {g['alpha']:.4f}, beta {g['beta']:.4f} (Epoch: 1.8172, 477.8, 2143.9, 0.3473, "
        "0.3672)",
        f"Exponent a = beta/(alpha+beta): {ab['q50']:.3f} [90%: {ab['q05']:.3f}-{ab['q95']:.3f}] "
        f"bootstrap, {an['q50']:.3f} [{an['q05']:.3f}-{an['q95']:.3f}] NUTS (Hoffmann: 0.46)",
        f"Tokens per parameter at C = {flops(t['compute'])}: {t['q50']:.1f} "
        f"[90%: {t['q05']:.1f}-{t['q95']:.1f}] (Hoffmann's published values imply 92.8)",
        f"Hoffmann's 80% interval on a (width {r['claimed_width']:.3g}) would need "
        f"~{r['bootstrap']:,.0f} runs (bootstrap) / ~{r['delta_method']:,.0f} (delta method); "
        "this fit has 240",
        f"Hoffmann's parameters are rejected: Wald chi2({w['df']}) = {w['chi2']:.0f}, "
        f"p = {w['p']:.1g}" + (f"; report: {s['report']}" if s["report"] else ""),
        f"Epoch's protocol ({e['n_resamples']:,} Huber-loss refits, against "
        f"{e['reference']}): Wald chi2 {e['wald_chi2']:.1f} +- {e['wald_mc_se']:.1f} "
        f"(Epoch: 238.4); runs needed {e['runs_needed_delta']:,.0f} +- "
        f"{e['runs_needed_delta_mc_se']:,.0f} (delta method) / {e['runs_needed_draws']:,.0f} +- "
        f"{e['runs_needed_draws_mc_se']:,.0f} (draws) (Epoch: 632,740 / 634,773); default "
        f"bootstrap: chi2 {e['default_wald_chi2']:.1f}",
    ]
