"""bayescale: neural scaling laws fitted with honest uncertainty.

Laws are JAX functions with named parameter specs (:mod:`bayescale.laws`); one likelihood
(:mod:`bayescale.likelihood`) serves multi-start fitting (:mod:`bayescale.optimize`), the
bootstrap and NUTS (:mod:`bayescale.infer`). This namespace is the flat public API; the
one-call functions live in :mod:`bayescale.workflows`, the records in :mod:`bayescale.results`.
Importing bayescale changes no global JAX setting: the entry points compute in float64.
"""

from bayescale import plot
from bayescale._jax import enable_x64
from bayescale.data.io import DataError, list_examples, load_example, read_table
from bayescale.data.preparation import Prepared, as_data, prepare
from bayescale.infer.types import ImportanceConfig, NutsConfig
from bayescale.lanes import ResourceError
from bayescale.laws.registry import get_law, list_laws, register_law
from bayescale.laws.spec import Law, ParamSpec, make_law
from bayescale.likelihood import Data, Loss, Noise
from bayescale.optimize.curves import StartSummary
from bayescale.optimize.dependence import compute_bins
from bayescale.optimize.multistart import FitConfig, MultiStartResult, fit_multistart
from bayescale.predict.allocation import Allocation, allocate
from bayescale.predict.criticism import Critique, critique
from bayescale.predict.posterior import Predictive, predictive
from bayescale.predict.protocols import get_protocol, list_protocols
from bayescale.predict.references import get_reference, list_references
from bayescale.report.build import build_report, write_report
from bayescale.results.atomic import OutputError
from bayescale.results.forecasts import Backtest
from bayescale.results.records import (
    BatchDraws,
    BatchFit,
    Draws,
    Fit,
    derived_draws,
    draws_summary,
    natural_draws,
)
from bayescale.results.store import load_fit, save_fit
from bayescale.results.summaries import allocation_summary, critique_summary
from bayescale.workflows.approximation import laplace
from bayescale.workflows.backtesting import backtest
from bayescale.workflows.comparison import Comparison, compare
from bayescale.workflows.distributed import distribute, start_processes
from bayescale.workflows.drawing import fit, with_draws
from bayescale.workflows.extrapolation import Extrapolation, extrapolate
from bayescale.workflows.fitting import fit_groups
from bayescale.workflows.posteriors import posterior_batch, posterior_groups
from bayescale.workflows.replication import replicate
from bayescale.workflows.uncertainty import bootstrap, bootstrap_groups, nuts, nuts_groups

__version__ = "0.1.0"

__all__ = [
    "Allocation",
    "Backtest",
    "BatchDraws",
    "BatchFit",
    "Comparison",
    "Critique",
    "Data",
    "DataError",
    "Draws",
    "Extrapolation",
    "Fit",
    "FitConfig",
    "ImportanceConfig",
    "Law",
    "Loss",
    "MultiStartResult",
    "Noise",
    "NutsConfig",
    "OutputError",
    "ParamSpec",
    "Predictive",
    "Prepared",
    "ResourceError",
    "StartSummary",
    "allocate",
    "allocation_summary",
    "as_data",
    "backtest",
    "bootstrap",
    "bootstrap_groups",
    "build_report",
    "compare",
    "compute_bins",
    "critique",
    "critique_summary",
    "derived_draws",
    "distribute",
    "draws_summary",
    "enable_x64",
    "extrapolate",
    "fit",
    "fit_groups",
    "fit_multistart",
    "get_law",
    "get_protocol",
    "get_reference",
    "laplace",
    "list_examples",
    "list_laws",
    "list_protocols",
    "list_references",
    "load_example",
    "load_fit",
    "make_law",
    "natural_draws",
    "nuts",
    "nuts_groups",
    "plot",
    "posterior_batch",
    "posterior_groups",
    "predictive",
    "prepare",
    "read_table",
    "register_law",
    "replicate",
    "save_fit",
    "start_processes",
    "with_draws",
    "write_report",
]
