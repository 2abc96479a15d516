"""Commands on a saved fit directory: ``report``, ``allocate`` and ``critique``."""

from __future__ import annotations

import argparse
import json

from bayescale.cli.checks import check_output
from bayescale.cli.options import UsageError
from bayescale.predict.references import get_reference
from bayescale.report.build import DEFAULT_BUDGETS, build_report, save_report
from bayescale.report.units import flops, num, si
from bayescale.results.store import load_fit
from bayescale.results.summaries import allocation_summary, critique_summary

EXAMPLES_ALLOCATE = """examples:
  bayescale fit example:chinchilla --drop-top-losses 5 --method bootstrap --out fit_dir
  bayescale allocate fit_dir --compute 5.88e23 --compute 1e25
"""
EXAMPLES_CRITIQUE = """examples:
  bayescale fit example:chinchilla --drop-top-losses 5 --method bootstrap --out fit_dir
  bayescale critique fit_dir --against hoffmann2022 --budget 5.88e23
  bayescale fit example:chinchilla --drop-top-losses 5 --method bootstrap \\
      --protocol besiroglu2024 --out epoch_dir
  bayescale critique epoch_dir --against hoffmann2022_unrounded
"""


def add_saved_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``report``, ``allocate`` and ``critique`` on the CLI's subparsers."""
    fmt = argparse.RawDescriptionHelpFormatter
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
        help="budgets for the allocation table (repeatable); the first is the headline's",
    )
    p.add_argument(
        "--beside",
        action="append",
        metavar="FIT_DIR",
        help="another saved fit of the same law and data with draws (e.g. the NUTS run beside "
        "a bootstrap) whose answers the report sets beside this fit's (repeatable)",
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
    p.add_argument(
        "--delta-at",
        choices=["estimate", "draws-mean"],
        help="where the runs-needed delta method takes its gradient: the estimate, or the "
        "draws' mean as Besiroglu et al. did (default: the saved protocol's, else estimate)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_critique)


def cmd_allocate(args: argparse.Namespace) -> int:
    """``bayescale allocate``."""
    fit = load_fit(args.fit_dir)
    k = args.flops_per_token or fit.data.flops_per_token
    out = allocation_summary(fit, args.compute, k)
    if args.json:
        print(json.dumps(out))
        return 0
    print(
        f"compute-optimal allocation, law {out['law']} ({out['method']}), C = {k:g} N D"
        + (f", intervals over {out['draws']} draws (5% / 50% / 95%)" if out["draws"] else "")
    )
    # planner units, as in the report: N* in params, D* in tokens (SI prefixes), no e-notation
    units = {"N_opt": ("N*", "params"), "D_opt": ("D*", "tokens"),
             "tokens_per_param": ("D*/N*", ""), "loss_opt": ("loss", "")}  # fmt: skip
    for row in out["budgets"]:
        print(f"  C = {flops(row['compute'])} FLOPs")
        for key, (label, unit) in units.items():
            v = row[key]
            show = (lambda x, u=unit: si(x, u)) if unit else (lambda x: num(x, 4))
            band = (
                f"  [{', '.join(show(v[q]) for q in ('q05', 'q50', 'q95'))}]" if "q05" in v else ""
            )
            print(f"    {label:>7} = {show(v['point'])}{band}")
    for n in out["notes"]:
        print(f"  note: {n}")
    return 0


def cmd_critique(args: argparse.Namespace) -> int:
    """``bayescale critique``."""
    fit = load_fit(args.fit_dir)
    out = critique_summary(fit, args.against, args.budget or [5.88e23], args.delta_at)
    if args.json:
        print(json.dumps(out))
        return 0
    protocol = f", protocol {out['protocol']}" if out["protocol"] else ""
    print(
        f"critique of {out['reference']} against the refit ({out['n_points']} points, "
        f"{out['n_draws']} draws{protocol}; +- Monte Carlo SE over resamples of the draws)"
    )
    mc = f" +- {out['wald_mc_se']:.1f}" if out["wald_mc_se"] is not None else ""
    print(
        f"  Wald chi2({out['wald_df']}) = {out['wald_chi2']:.1f}{mc}, p = {out['wald_p']:.2g} "
        f"(fit space); natural space {out['wald_natural_chi2']:.1f}, "
        f"p = {out['wald_natural_p']:.2g}"
    )
    d = out["wald_directions"]
    print(
        f"    {100 * d['smallest_share']:.0f}% of it from the thinnest direction of the draws' "
        f"covariance (SD {d['smallest_sd']:.2g}); shares by direction, thinnest first: "
        + ", ".join(f"{100 * v:.0f}%" for v in d["share"])
    )
    print(f"  likelihood ratio = {out['lr_stat']:.1f} (df {out['lr_df']}), p = {out['lr_p']:.2g}")
    for name, t in out["tests"].items():
        print(
            f"  {name:>6}: refit {t['estimate']:.4g} (se {t['se']:.3g}) vs published "
            f"{t['reference']:.4g}, t = {t['t']:.2f}, p = {t['p']:.2g}"
        )
    for q, r in out["runs_needed"].items():
        se = [f" +- {r[k]:,.0f}" if r[k] is not None else "" for k in ("delta_method_mc_se",
              "bootstrap_mc_se")]  # fmt: skip
        print(
            f"  runs needed for the claimed interval on {q} (width {r['claimed_width']:.3g}): "
            f"{r['delta_method']:,.0f}{se[0]} (delta method at the "
            f"{r['delta_at'].replace('_', ' ')}), {r['bootstrap']:,.0f}{se[1]} (draws)"
        )
    for c, a in out["allocation"].items():
        print(
            f"  at C = {float(c):.3g}: D/N refit {a['fit']['tokens_per_param']['point']:.1f}, "
            f"published {a['reference']['tokens_per_param']:.1f}"
        )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``bayescale report``: writes the page and prints its headline and 5-line summary."""
    fmt = args.format or ("md" if str(args.out).endswith(".md") else "html")
    check_output(args, kind="file")
    fit = load_fit(args.fit_dir)
    if args.against:
        get_reference(args.against)  # unknown name: exit 2 before any work
    others = {d: load_fit(d) for d in args.beside or ()}
    for d, other in others.items():
        if other.draws is None:
            raise UsageError(f"--beside {d}: this saved fit has no draws (save one made with "
                             "--method bootstrap or --method nuts)")  # fmt: skip
    try:
        rep = build_report(
            fit,
            against=args.against,
            budgets=tuple(args.budget or DEFAULT_BUDGETS),
            command=args.command_line,
            others=others,
        )
    except ValueError as e:
        if not others or "others[" not in str(e):
            raise
        raise UsageError(f"--beside: {e}") from e
    path = save_report(rep, args.out, format=fmt)
    for line in (*rep.headline, "", *rep.summary):
        print(line)
    print(f"wrote {path}")
    return 0
