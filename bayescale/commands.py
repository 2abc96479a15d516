"""CLI commands that work on a saved fit: ``allocate`` and ``critique``."""

from __future__ import annotations

import argparse
import json

import numpy as np

EXAMPLES_ALLOCATE = """examples:
  bayescale fit example:chinchilla --drop-top-losses 5 --method bootstrap --out fit_dir
  bayescale allocate fit_dir --compute 5.88e23 --compute 1e25
"""
EXAMPLES_CRITIQUE = """examples:
  bayescale fit example:chinchilla --drop-top-losses 5 --method bootstrap --out fit_dir
  bayescale critique fit_dir --against hoffmann2022 --budget 5.88e23
"""


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``replicate``, ``allocate`` and ``critique`` on the CLI's subparsers."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "replicate",
        help="the main job: replicate a published analysis on bundled data",
        description="Replicate Besiroglu et al. (2024) on the bundled Chinchilla data: the "
        "Hoffmann-grid fit, the MLE-Huber bootstrap, NUTS, the critique against hoffmann2022 "
        "and the report, all written to --out.",
        epilog="example:\n  bayescale replicate chinchilla --out replication\n",
        formatter_class=fmt,
    )
    p.add_argument("name", help="replication to run: chinchilla")
    p.add_argument("--out", default="replication", metavar="DIR", help="output directory")
    p.add_argument("--resamples", type=int, default=4000, help="bootstrap resamples")
    p.add_argument("--chains", type=int, default=4, help="NUTS chains")
    p.add_argument("--warmup", type=int, default=1000, help="NUTS warmup per chain")
    p.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain")
    p.add_argument("--seed", type=int, default=42, help="seed (bootstrap and NUTS)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_replicate)

    p = sub.add_parser(
        "report",
        help="write a self-contained posterior report (HTML or markdown) of a saved fit",
        description="Write a posterior report for a planning meeting: the data and the fitted "
        "law with mean and new-run bands, residuals, parameters, compute-optimal allocation, "
        "diagnostics, the critique (with --against) and a reproducibility checklist.",
        epilog="examples:\n  bayescale report fit_dir --out report.html --against hoffmann2022"
        "\n  bayescale report fit_dir --out report.md --format md --budget 1e24\n",
        formatter_class=fmt,
    )
    p.add_argument("fit_dir", help="directory written by `bayescale fit --out`")
    p.add_argument("--out", default="report.html", help="output file (default report.html)")
    p.add_argument(
        "--format",
        choices=["html", "md"],
        default=None,
        help="html (one self-contained file) or md (markdown + PNGs); default from "
        "the --out suffix",
    )
    p.add_argument("--against", help="published reference for the critique section")
    p.add_argument(
        "--budget",
        type=float,
        action="append",
        metavar="FLOPS",
        help="budgets for the allocation table (repeatable)",
    )
    p.set_defaults(func=cmd_report)
    p = sub.add_parser(
        "allocate",
        help="compute-optimal N*, D*, D/N at budgets, from a saved fit's draws",
        description="Compute-optimal allocation (N*, D*, tokens per parameter, loss) at compute "
        "budgets, with intervals over the fit's bootstrap or NUTS draws.",
        epilog=EXAMPLES_ALLOCATE,
        formatter_class=fmt,
    )
    p.add_argument("fit_dir", help="directory written by `bayescale fit --out`")
    p.add_argument(
        "--compute",
        type=float,
        action="append",
        required=True,
        metavar="FLOPS",
        help="training compute budget C in FLOPs (repeatable)",
    )
    p.add_argument(
        "--flops-per-token",
        type=float,
        default=None,
        help="k in C = k N D (default: the fit's, usually 6)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_allocate)

    p = sub.add_parser(
        "critique",
        help="test published parameters against a saved fit's draws",
        description="Interval critique (Besiroglu et al. 2024): Wald and likelihood-ratio tests "
        "of published parameters, per-parameter t-tests, their allocation at budgets, and how "
        "many runs a claimed interval width would need.",
        epilog=EXAMPLES_CRITIQUE,
        formatter_class=fmt,
    )
    p.add_argument("fit_dir", help="directory written by `bayescale fit --method ... --out`")
    p.add_argument(
        "--against",
        default="hoffmann2022",
        help="published reference (hoffmann2022, hoffmann2022_unrounded, ...)",
    )
    p.add_argument(
        "--budget",
        type=float,
        action="append",
        metavar="FLOPS",
        help="budgets for the allocation comparison (default 5.88e23)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_critique)


def _summary(v: np.ndarray) -> dict:
    q = np.quantile(v, [0.05, 0.5, 0.95])
    return {
        "mean": float(np.mean(v)),
        "sd": float(np.std(v, ddof=1)) if v.size > 1 else 0.0,
        "q05": float(q[0]),
        "q50": float(q[1]),
        "q95": float(q[2]),
    }


def allocation_dict(fit: object, compute: list[float], flops_per_token: float) -> dict:
    """Allocation at budgets for a fit: point values plus summaries over its draws."""
    from bayescale.laws import get_law
    from bayescale.predict import allocate

    law = get_law(fit.law)
    point = allocate(law, fit.result.theta[None], compute, flops_per_token=flops_per_token)
    has = fit.draws is not None
    alloc = (
        allocate(law, fit.draws.flat(), compute, flops_per_token=flops_per_token) if has else point
    )
    rows = []
    for j, c in enumerate(point.compute):
        row = {"compute": float(c)}
        for k in ("N_opt", "D_opt", "tokens_per_param", "loss_opt"):
            row[k] = {"point": float(getattr(point, k)[0, j])}
            if has:
                row[k].update(_summary(getattr(alloc, k)[:, j]))
        rows.append(row)
    notes = []
    if point.method == "numerical":
        notes.append(
            f"law {law.name!r} has no closed-form allocation; N* was found numerically "
            "by minimising the loss along each budget"
        )
    if not has:
        notes.append(
            "this fit has no draws: point values only; rerun `bayescale fit` with "
            "--method bootstrap or nuts for intervals"
        )
    out = {
        "law": law.name,
        "method": point.method,
        "flops_per_token": flops_per_token,
        "draws": fit.draws.method if has else None,
        "budgets": rows,
        "notes": notes,
    }
    if point.a.ndim == 1:
        out["exponents"] = {"a": {"point": float(point.a[0])}, "b": {"point": float(point.b[0])}}
        if has:
            out["exponents"]["a"].update(_summary(alloc.a))
            out["exponents"]["b"].update(_summary(alloc.b))
    return out


def cmd_allocate(args: argparse.Namespace) -> int:
    """``bayescale allocate``."""
    from bayescale.data.store import load_fit

    fit = load_fit(args.fit_dir)
    k = args.flops_per_token or fit.data.flops_per_token
    out = allocation_dict(fit, args.compute, k)
    if args.json:
        print(json.dumps(out))
        return 0
    print(
        f"compute-optimal allocation, law {out['law']} ({out['method']}), C = {k:g} N D"
        + (f", intervals over {out['draws']} draws (5% / 50% / 95%)" if out["draws"] else "")
    )
    for row in out["budgets"]:
        print(f"  C = {row['compute']:.3g} FLOPs")
        for key, label in (
            ("N_opt", "N*"),
            ("D_opt", "D*"),
            ("tokens_per_param", "D*/N*"),
            ("loss_opt", "loss"),
        ):
            v = row[key]
            band = f"  [{v['q05']:.4g}, {v['q50']:.4g}, {v['q95']:.4g}]" if "q05" in v else ""
            print(f"    {label:>7} = {v['point']:.4g}{band}")
    for n in out["notes"]:
        print(f"  note: {n}")
    return 0


def critique_dict(fit: object, against: str, budgets: list[float]) -> dict:
    """Run :func:`bayescale.predict.critique` on a saved fit; JSON-ready."""
    from bayescale.api import to_data
    from bayescale.data import DataError
    from bayescale.laws import get_law
    from bayescale.likelihood import Noise
    from bayescale.predict import critique, critique_to_dict, get_reference

    ref = get_reference(against)
    if fit.draws is None:
        raise DataError(
            "critique needs draws, and this fit has none: rerun `bayescale fit ... "
            "--method bootstrap --out DIR` (or --method nuts)"
        )
    if not isinstance(fit.objective, Noise):
        raise DataError(
            "critique needs a fit with a noise model (the likelihood-ratio test "
            "compares likelihoods); refit with --noise huber or --method bootstrap"
        )
    law = get_law(fit.law)
    c = critique(
        law,
        to_data(fit.data),
        fit.objective,
        fit.result.theta,
        fit.draws.flat(),
        ref,
        budgets=budgets,
        flops_per_token=fit.data.flops_per_token,
    )
    return critique_to_dict(c)


def cmd_critique(args: argparse.Namespace) -> int:
    """``bayescale critique``."""
    from bayescale.data.store import load_fit

    out = critique_dict(load_fit(args.fit_dir), args.against, args.budget or [5.88e23])
    if args.json:
        print(json.dumps(out))
        return 0
    print(
        f"critique of {out['reference']} against the refit ({out['n_points']} points, "
        f"{out['n_draws']} draws)"
    )
    print(f"  Wald chi2({out['wald_df']}) = {out['wald_chi2']:.1f}, p = {out['wald_p']:.2g}")
    print(f"  likelihood ratio = {out['lr_stat']:.1f} (df {out['lr_df']}), p = {out['lr_p']:.2g}")
    for name, t in out["tests"].items():
        print(
            f"  {name:>6}: refit {t['estimate']:.4g} (se {t['se']:.3g}) vs published "
            f"{t['reference']:.4g}, t = {t['t']:.2f}, p = {t['p']:.2g}"
        )
    for q, r in out["runs_needed"].items():
        print(
            f"  runs needed for the claimed interval on {q} (width {r['claimed_width']:.3g}): "
            f"{r['delta_method']:,.0f} (delta method), {r['bootstrap']:,.0f} (draws)"
        )
    for c, a in out["allocation"].items():
        print(
            f"  at C = {float(c):.3g}: D/N refit {a['fit']['tokens_per_param']['point']:.1f}, "
            f"published {a['reference']['tokens_per_param']:.1f}"
        )
    return 0


def cmd_replicate(args: argparse.Namespace) -> int:
    """``bayescale replicate``."""
    import sys

    from bayescale.replicate import ReplicationSettings, replicate, summary_lines

    settings = ReplicationSettings(args.resamples, args.chains, args.warmup, args.draws, args.seed)
    if args.resamples < 2 or min(args.chains, args.warmup, args.draws) < 1:
        raise ValueError("--resamples must be >= 2 and --chains, --warmup, --draws >= 1")
    log = (lambda line: print(line, file=sys.stderr)) if args.json else print
    s = replicate(
        args.name,
        args.out,
        settings,
        log=log,
        progress=not args.no_progress and sys.stderr.isatty(),
        command="bayescale " + " ".join(sys.argv[1:]),
    )
    if args.json:
        print(json.dumps(s, default=float))
        return 0
    print()
    for line in summary_lines(s):
        print(line)
    print(f"({s['seconds']:.0f} s; everything is in {args.out}/)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``bayescale report``."""
    import sys

    from bayescale.data.store import load_fit
    from bayescale.report import DEFAULT_BUDGETS, write_report

    fmt = args.format or ("md" if str(args.out).endswith(".md") else "html")
    fit = load_fit(args.fit_dir)
    if args.against:
        from bayescale.predict import get_reference

        get_reference(args.against)  # unknown name: exit 2 before any work
    path = write_report(
        fit,
        args.out,
        format=fmt,
        against=args.against,
        budgets=tuple(args.budget or DEFAULT_BUDGETS),
        command="bayescale " + " ".join(sys.argv[1:]),
    )
    print(f"wrote {path}")
    return 0
