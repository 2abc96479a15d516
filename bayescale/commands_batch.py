"""``bayescale fit --group``: every group of a long table its own curve, in one batch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bayescale.batch import fit_groups
from bayescale.cli import UsageError, fit_options
from bayescale.fit.multistart import FitConfig
from bayescale.laws import get_law


def cmd_fit_groups(args: argparse.Namespace, config: FitConfig) -> int:
    """``bayescale fit --group``: one curve per group, one batch (point, bootstrap or NUTS).

    Parameters
    ----------
    args
        Parsed ``bayescale fit`` arguments with ``args.group`` set.
    config
        Optimiser settings.

    Returns
    -------
    int
        Exit code 0.
    """

    common = dict(
        fit_options(args),
        group=args.group,
        config=config,
        chunk_size=args.chunk_size,
        progress=not args.no_progress and not args.json,
    )
    if args.cluster:
        raise UsageError("--cluster is for single fits; with --group every curve is resampled")
    if args.method == "point":
        res = fit_groups(args.data, args.law, loss=args.loss, **common)
    else:
        from bayescale.batch_uncertainty import bootstrap_groups, nuts_groups

        noise = args.noise or "huber"
        if args.method == "bootstrap":
            res = bootstrap_groups(
                args.data, args.law, noise=noise, n_resamples=args.resamples, **common
            )
        else:
            from bayescale.infer.nuts import NutsConfig

            cfg = NutsConfig(
                num_chains=args.chains,
                num_warmup=args.warmup,
                num_samples=args.draws,
                target_accept=args.target_accept,
                max_tree_depth=8,
                seed=args.seed,
            )
            res = nuts_groups(args.data, args.law, noise=noise, nuts_config=cfg, **common)
    table = res.table
    counts = table["status"].value_counts().to_dict()
    summary = {
        "law": args.law,
        "method": args.method,
        "n_curves": int(len(table)),
        "status_counts": counts,
        "seconds": round(float(res.seconds), 3),
    }
    if "sampler_status" in table:
        summary["sampler_status_counts"] = table["sampler_status"].value_counts().to_dict()
    name = f"curves.{args.table_format}"
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        if args.table_format == "parquet":
            table.to_parquet(out / name, index=False)
        else:
            table.to_csv(out / name, index=False)
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(summary, default=str))
        return 0
    print(
        f"law {args.law}, {args.method}: {len(table)} curves in {res.seconds:.1f} s; status: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    law = get_law(args.law)
    shown = [*map(str, args.group), "status", *law.natural_names]
    shown += [c for c in ("converged_frac", "sampler_status", "max_rhat") if c in table]
    print(table[shown].head(10).to_string(index=False))
    if len(table) > 10:
        print(f"... {len(table) - 10} more curves")
    if args.out:
        print(f"wrote {args.out}/{name} and summary.json")
    return 0
