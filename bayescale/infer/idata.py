"""arviz ``InferenceData`` of a NUTS run; the one module that imports arviz (lazily, as an
optional heavy dependency that prints a FutureWarning on import)."""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

import numpy as np

from bayescale.infer.types import ChainOutput
from bayescale.laws.spec import Law
from bayescale.likelihood import Data, Noise, params


def import_arviz() -> ModuleType:
    """arviz, without its once-a-day import FutureWarning (which ``-W error`` turns fatal)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing", category=FutureWarning)
        import arviz

    return arviz


def to_inferencedata(
    out: ChainOutput, law: Law, data: Data, noise: Noise, chain_method: str, seconds: float
) -> Any:
    """``arviz.InferenceData`` of a run.

    Groups: ``posterior`` (natural-space parameters named by :attr:`ParamSpec.label`, then
    ``sigma`` and, for a heteroscedastic model, ``sigma_slope``), ``sample_stats``
    (``diverging``, ``tree_depth``, ``n_steps``, ``acceptance_rate``, ``step_size``, ``lp`` =
    minus numpyro's potential energy, which includes the transforms' log-Jacobians, and
    ``energy``; arviz's names; ``step_size`` is in the Laplace-whitened space NUTS runs in),
    ``observed_data`` and ``posterior_predictive`` (``log_loss``), ``log_likelihood``
    (pointwise ``log_loss``, for ``az.loo``) and ``constant_data`` (the inputs and ``weight``).
    """
    az = import_arviz()
    theta = np.asarray(out.theta)
    posterior = {}
    for i, spec in enumerate(params(law, noise)):
        col = theta[..., i]
        posterior[spec.label] = np.exp(col) if spec.transform == "exp" else col
    n_steps = np.asarray(out.num_steps)
    sample_stats = {
        "diverging": np.asarray(out.diverging, dtype=bool),
        "tree_depth": (np.log2(np.maximum(n_steps, 1)).astype(np.int64) + 1),
        "n_steps": n_steps,
        "acceptance_rate": np.asarray(out.accept_prob),
        "step_size": np.asarray(out.step_size),
        "lp": -np.asarray(out.potential_energy),
        "energy": np.asarray(out.energy),
    }
    n_points = np.asarray(data.log_y).shape[-1]
    dims = {"log_loss": ["point"]}
    constant = {k: np.asarray(v) for k, v in data.x.items()}
    constant["weight"] = np.asarray(data.weight)
    dims.update({k: ["point"] for k in constant})
    attrs = {
        "inference_library": "numpyro",
        "law": law.name,
        "noise": noise.kind,
        "noise_delta": float(noise.delta),
        "noise_df": float(noise.df),
        "chain_method": chain_method,
        "sampling_time": float(seconds),
        "warmup_leapfrog_steps": int(np.sum(out.warmup_steps)),
    }
    return az.from_dict(
        posterior=posterior,
        sample_stats=sample_stats,
        observed_data={"log_loss": np.asarray(data.log_y)},
        constant_data=constant,
        log_likelihood={"log_loss": np.asarray(out.log_lik)},
        posterior_predictive={"log_loss": np.asarray(out.predictive)},
        coords={"point": np.arange(n_points)},
        dims=dims,
        attrs=attrs,
    )
