"""The main job: replicate Besiroglu et al.'s (2024) Chinchilla analysis in one call.

Steps, each saved under ``out/``:

1. ``grid/`` - the summed-Huber fit from the 4,500-point Hoffmann grid ("replicate exactly");
2. ``bootstrap/`` - the MLE-Huber fit and its 4,000-resample bootstrap;
3. ``nuts/`` - the NumPyro NUTS posterior of the same likelihood;
4. ``critique.json`` - Hoffmann et al.'s published parameters tested against the bootstrap;
5. ``report.html`` - the posterior report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from bayescale.infer.types import NutsConfig
from bayescale.likelihood import Noise
from bayescale.report.build import write_report
from bayescale.results.records import draws_summary
from bayescale.results.store import save_fit
from bayescale.results.summaries import allocation_summary, critique_summary
from bayescale.workflows.fitting import fit
from bayescale.workflows.uncertainty import bootstrap, nuts

REPLICATIONS = ("chinchilla",)


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

    Raises
    ------
    ValueError
        On an unknown replication name.
    """
    if name not in REPLICATIONS:
        raise ValueError(f"unknown replication {name!r}; available: {list(REPLICATIONS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
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

    crit = critique_summary(boot_fit, "hoffmann2022", list(settings.budgets))
    (out / "critique.json").write_text(json.dumps(crit, indent=2) + "\n")
    log(f"[4/5] critique against hoffmann2022: Wald chi2 {crit['wald_chi2']:.1f}")

    report = write_report(
        boot_fit,
        out / "report.html",
        against="hoffmann2022",
        budgets=settings.budgets,
        command=command,
    )
    log(f"[5/5] report: {report}")

    alloc = allocation_summary(boot_fit, [settings.budgets[0]], grid.data.flops_per_token)
    tpp = alloc["budgets"][0]["tokens_per_param"]
    bsum, nsum = draws_summary(mle, boot), draws_summary(mle, post)
    a_b, a_n = bsum["derived"]["a"], nsum["derived"]["a"]
    runs = crit["runs_needed"]["a"]
    summary = {
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
        "nuts_diagnostics": post.diagnostics,
        "report": str(report),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    return summary


def summary_lines(s: dict) -> list[str]:
    """The 5-line plain summary of a replication."""
    g, ab, an, t, r, w = (
        s["grid_fit"],
        s["a_bootstrap"],
        s["a_nuts"],
        s["tokens_per_param"],
        s["runs_needed_a"],
        s["wald"],
    )
    return [
        f"Refit (Hoffmann grid, summed Huber): E {g['E']:.4f}, A {g['A']:.1f}, B {g['B']:.1f}, "
        f"alpha {g['alpha']:.4f}, beta {g['beta']:.4f} (Epoch: 1.8172, 477.8, 2143.9, 0.3473, "
        "0.3672)",
        f"Exponent a = beta/(alpha+beta): {ab['q50']:.3f} [90%: {ab['q05']:.3f}-{ab['q95']:.3f}] "
        f"bootstrap, {an['q50']:.3f} [{an['q05']:.3f}-{an['q95']:.3f}] NUTS (Hoffmann: 0.46)",
        f"Tokens per parameter at C = {t['compute']:.3g}: {t['point']:.1f} "
        f"[90%: {t['q05']:.1f}-{t['q95']:.1f}] (Hoffmann's published values imply 92.8)",
        f"Hoffmann's 80% interval on a (width {r['claimed_width']:.3g}) would need "
        f"~{r['bootstrap']:,.0f} runs (bootstrap) / ~{r['delta_method']:,.0f} (delta method); "
        "this fit has 240",
        f"Hoffmann's parameters are rejected: Wald chi2({w['df']}) = {w['chi2']:.0f}, "
        f"p = {w['p']:.1g}" + (f"; report: {s['report']}" if s["report"] else ""),
    ]
