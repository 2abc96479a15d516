"""bayescale: neural scaling laws fitted with honest uncertainty.

Laws are JAX functions with named parameter specs (:mod:`bayescale.laws`); one likelihood
(:mod:`bayescale.likelihood`) serves multi-start fitting (:mod:`bayescale.fit`), the bootstrap
and NUTS. Importing bayescale changes no global JAX setting: the entry points compute in
float64 inside a context.
"""

from bayescale.api import Fit, fit
from bayescale.data import DataError, list_examples, load_example, prepare, read_table
from bayescale.fit.multistart import FitConfig, MultiStartResult, fit_multistart
from bayescale.laws import Law, ParamSpec, get_law, list_laws, make_law, register_law
from bayescale.likelihood import Data, Loss, Noise
from bayescale.predict.compare import Comparison, compare
from bayescale.predict.extrapolate import Extrapolation, extrapolate

__version__ = "0.1.0"

__all__ = [
    "Comparison",
    "Data",
    "DataError",
    "Extrapolation",
    "Fit",
    "FitConfig",
    "Law",
    "Loss",
    "MultiStartResult",
    "Noise",
    "ParamSpec",
    "compare",
    "extrapolate",
    "fit",
    "fit_multistart",
    "get_law",
    "list_examples",
    "list_laws",
    "load_example",
    "make_law",
    "prepare",
    "read_table",
    "register_law",
]
