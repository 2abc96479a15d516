"""Parameter specs and the ``Law`` record: a pure JAX function plus named parameters.

A law maps fit-space parameters and raw inputs to the *log* of the predicted loss.
Everything about a parameter that the engines need (its reported name, the transform from
fit space to natural space, the range random starts are drawn from, the default prior for
NUTS and the default start grid) lives in its :class:`ParamSpec`, so no engine carries
per-law special cases.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

TRANSFORMS = ("identity", "exp")
PRIOR_KINDS = {"normal": 2, "uniform": 2, "halfnormal": 1, "lognormal": 2}


class ParamSpec(NamedTuple):
    """One parameter of a law, in fit space.

    Attributes
    ----------
    name
        Name in fit space, used inside the law function (``"a"`` for ``log A``).
    natural
        Name reported to users (``"A"``); empty means the same as ``name``.
    transform
        ``"identity"`` or ``"exp"``: the natural value is ``exp(fit value)`` for ``"exp"``.
    lower
        Lower end of the range (fit space) that random starts are drawn from, uniformly. The
        optimiser itself is unconstrained; this is not a hard bound.
    upper
        Upper end of that range.
    prior
        Default prior in fit space for NUTS, as a hashable tuple: ``("normal", loc, scale)``,
        ``("uniform", low, high)``, ``("halfnormal", scale)`` or ``("lognormal", loc, scale)``.
    grid
        Default start-grid values (fit space); the law's default grid is their product.
    """

    name: str
    natural: str = ""
    transform: str = "identity"
    lower: float = -5.0
    upper: float = 5.0
    prior: tuple = ("normal", 0.0, 5.0)
    grid: tuple[float, ...] = ()

    @property
    def label(self) -> str:
        """Name reported to users (natural space)."""
        return self.natural or self.name


LawFn = Callable[[Mapping[str, jax.Array], Mapping[str, jax.Array]], jax.Array]
#: A derived quantity: natural-space parameters by natural name -> value (numpy or JAX).
DerivedFn = Callable[[Mapping[str, jax.Array]], jax.Array]
#: A closed-form compute-optimal allocation: ``(theta (n, P) fit space, log(C/k) (k,))`` ->
#: ``(log N* (n, k), log D* (n, k), a (n,), b (n,))``; pure JAX.
AllocationFn = Callable[[jax.Array, jax.Array], tuple[jax.Array, ...]]


class Law(NamedTuple):
    """A scaling law: a pure function plus its parameter specs.

    ``fn(p, x)`` takes a mapping of fit-space parameter scalars ``p`` (keyed by
    :attr:`ParamSpec.name`) and a mapping of raw input arrays ``x`` (keyed by the names in
    ``inputs``, each of shape ``(n_points,)``) and returns ``log L_pred`` of shape
    ``(n_points,)``. It must be traceable by JAX (no Python control flow on values).
    ``Law`` is hashable, so it is passed to compiled code as a static argument.

    ``derived`` names quantities computed from the natural parameters (chinchilla's
    allocation exponents ``a`` and ``b``), so no engine tests a law's name or a parameter's
    position; ``allocation``, when set, is the law's closed-form compute-optimal allocation
    (see :data:`AllocationFn`); laws of ``N`` and ``D`` without one are allocated numerically.
    """

    name: str
    fn: LawFn
    params: tuple[ParamSpec, ...]
    inputs: tuple[str, ...]
    grids: tuple[tuple[str, tuple[tuple[float, ...], ...]], ...] = ()
    doc: str = ""
    derived: tuple[tuple[str, DerivedFn], ...] = ()
    allocation: AllocationFn | None = None

    @property
    def param_names(self) -> tuple[str, ...]:
        """Fit-space parameter names, in order."""
        return tuple(p.name for p in self.params)

    @property
    def natural_names(self) -> tuple[str, ...]:
        """Natural (reported) parameter names, in order."""
        return tuple(p.label for p in self.params)

    @property
    def n_params(self) -> int:
        """Number of parameters."""
        return len(self.params)

    @property
    def derived_names(self) -> tuple[str, ...]:
        """Names of the derived quantities, in order."""
        return tuple(d[0] for d in self.derived)

    @property
    def grid_names(self) -> tuple[str, ...]:
        """Names of the start grids this law offers (``"default"`` first)."""
        return ("default",) + tuple(g[0] for g in self.grids)


def make_law(
    name: str,
    fn: LawFn,
    params: Sequence[ParamSpec],
    inputs: Sequence[str],
    grids: Mapping[str, Sequence[Sequence[float]]] | None = None,
    doc: str | None = None,
    derived: Mapping[str, DerivedFn] | None = None,
    allocation: AllocationFn | None = None,
) -> Law:
    """Build and check a :class:`Law`.

    Parameters
    ----------
    name
        Registry name of the law.
    fn
        ``fn(p, x) -> log L_pred``; see :class:`Law`.
    params
        Parameter specs, in the order used for parameter vectors.
    inputs
        Input columns the law needs (canonical names such as ``"N"``, ``"D"``, ``"x"``).
    grids
        Extra named start grids: name -> one sequence of values per parameter.
    doc
        Description (equation and reference); defaults to ``fn.__doc__``.
    derived
        Derived quantities: name -> function of the natural parameters by natural name
        (e.g. ``{"a": lambda p: p["beta"] / (p["alpha"] + p["beta"])}``).
    allocation
        Optional closed-form compute-optimal allocation (laws of ``N`` and ``D``); see
        :data:`AllocationFn`.

    Returns
    -------
    Law
        The checked law.

    Raises
    ------
    ValueError
        If names repeat, a transform or prior is unknown, a range is empty, a grid has the
        wrong number of axes, or ``fn`` does not return one value per point.
    """
    params = tuple(ParamSpec(*p) if not isinstance(p, ParamSpec) else p for p in params)
    inputs = tuple(inputs)
    if not name or not isinstance(name, str):
        raise ValueError("a law needs a non-empty string name")
    if not callable(fn):
        raise ValueError(f"law {name!r}: fn must be callable, got {type(fn).__name__}")
    if not params:
        raise ValueError(f"law {name!r}: needs at least one parameter")
    if not inputs:
        raise ValueError(f"law {name!r}: needs at least one input column")
    for what, names in (("parameter", [p.name for p in params]), ("input", list(inputs))):
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"law {name!r}: duplicate {what} names {dup}")
    labels = [p.label for p in params]
    if len(set(labels)) != len(labels):
        raise ValueError(f"law {name!r}: duplicate natural parameter names {labels}")
    for p in params:
        if p.transform not in TRANSFORMS:
            raise ValueError(
                f"law {name!r}, parameter {p.name!r}: transform must be one of {TRANSFORMS}, "
                f"got {p.transform!r}"
            )
        if not (math.isfinite(p.lower) and math.isfinite(p.upper) and p.lower < p.upper):
            raise ValueError(
                f"law {name!r}, parameter {p.name!r}: start range needs finite lower < upper, "
                f"got [{p.lower}, {p.upper}]"
            )
        if (
            not p.prior
            or p.prior[0] not in PRIOR_KINDS
            or len(p.prior) != 1 + PRIOR_KINDS[p.prior[0]]
        ):
            raise ValueError(
                f"law {name!r}, parameter {p.name!r}: prior must be one of "
                f"('normal', loc, scale), ('uniform', low, high), ('halfnormal', scale), "
                f"('lognormal', loc, scale); got {p.prior!r}"
            )
    grid_items = []
    for gname, axes in (grids or {}).items():
        axes = tuple(tuple(float(v) for v in ax) for ax in axes)
        if len(axes) != len(params) or any(len(ax) == 0 for ax in axes):
            raise ValueError(
                f"law {name!r}: grid {gname!r} needs one non-empty value list per parameter "
                f"({len(params)}), got {len(axes)}"
            )
        grid_items.append((gname, axes))
    derived_items = tuple((str(k), f) for k, f in (derived or {}).items())
    for dname, f in derived_items:
        if dname in labels or not callable(f):
            raise ValueError(
                f"law {name!r}: derived quantity {dname!r} must be callable and not share a "
                "parameter's name"
            )
    if allocation is not None and (set(inputs) != {"N", "D"} or not callable(allocation)):
        raise ValueError(f"law {name!r}: a closed-form allocation needs a callable and inputs N, D")
    law = Law(
        name,
        fn,
        params,
        inputs,
        tuple(grid_items),
        doc or (fn.__doc__ or "").strip(),
        derived_items,
        allocation,
    )
    _check_shape(law)
    return law


def _check_shape(law: Law) -> None:
    """Trace ``law.fn`` abstractly (no compile) and check it returns one value per point."""
    n = 7
    p = {s.name: jax.ShapeDtypeStruct((), jnp.float32) for s in law.params}
    x = {k: jax.ShapeDtypeStruct((n,), jnp.float32) for k in law.inputs}
    try:
        out = jax.eval_shape(law.fn, p, x)
    except Exception as err:  # noqa: BLE001 - re-raised with the law named
        raise ValueError(f"law {law.name!r}: fn(p, x) failed on a trial trace: {err}") from err
    if getattr(out, "shape", None) != (n,):
        raise ValueError(
            f"law {law.name!r}: fn(p, x) must return one log-loss per point, shape ({n},) for "
            f"{n} points; got {getattr(out, 'shape', type(out).__name__)}"
        )


def unpack(law: Law, theta: jax.Array) -> dict[str, jax.Array]:
    """Split a fit-space vector ``theta[..., P]`` into a name -> value mapping."""
    return {s.name: theta[..., i] for i, s in enumerate(law.params)}


def predict_log(law: Law, theta: jax.Array, x: Mapping[str, jax.Array]) -> jax.Array:
    """Log predicted loss for one parameter vector ``theta`` (shape ``(P,)``)."""
    return law.fn(unpack(law, theta), x)


def specs_of(law: Law | Sequence[ParamSpec]) -> tuple[ParamSpec, ...]:
    """The parameter specs of a law, or the specs themselves."""
    return tuple(law.params) if isinstance(law, Law) else tuple(law)


def to_natural(law: Law | Sequence[ParamSpec], theta: jax.Array) -> jax.Array:
    """Map fit-space ``theta[..., P]`` to natural space (works on numpy or JAX).

    ``law`` is a :class:`Law` or a sequence of specs (e.g.
    :func:`bayescale.likelihood.params`, which adds the noise scale); columns beyond the specs
    are not allowed.
    """
    specs = specs_of(law)
    xp = jnp if isinstance(theta, jax.Array) else np
    cols = [
        xp.exp(theta[..., i]) if s.transform == "exp" else theta[..., i]
        for i, s in enumerate(specs)
    ]
    return xp.stack(cols, axis=-1)


def to_fit(law: Law | Sequence[ParamSpec], natural: jax.Array) -> jax.Array:
    """Map natural-space ``natural[..., P]`` to fit space (inverse of :func:`to_natural`)."""
    specs = specs_of(law)
    xp = jnp if isinstance(natural, jax.Array) else np
    cols = [
        xp.log(natural[..., i]) if s.transform == "exp" else natural[..., i]
        for i, s in enumerate(specs)
    ]
    return xp.stack(cols, axis=-1)


def derived_values(law: Law, natural: np.ndarray) -> dict[str, np.ndarray]:
    """The law's derived quantities from natural-space parameters ``natural[..., P]``.

    Parameters
    ----------
    law
        The law.
    natural
        Natural-space values whose last axis holds the law's parameters in order (extra
        trailing columns, such as a noise scale, are ignored).

    Returns
    -------
    dict
        Derived name -> values with the leading shape of ``natural`` (empty when the law
        declares none).
    """
    by_name = {n: natural[..., i] for i, n in enumerate(law.natural_names)}
    return {name: f(by_name) for name, f in law.derived}


def grid_starts(law: Law, name: str = "default") -> np.ndarray:
    """The Cartesian-product start grid ``name`` as an array of shape ``(S, P)``.

    Raises
    ------
    ValueError
        If the law has no grid of that name, or its default grid is empty.
    """
    if name == "default":
        axes = tuple(s.grid for s in law.params)
        if any(len(a) == 0 for a in axes):
            raise ValueError(f"law {law.name!r} has no default start grid; use a number of starts")
    else:
        found = dict(law.grids)
        if name not in found:
            raise ValueError(
                f"law {law.name!r} has no start grid {name!r}; it has {list(law.grid_names)}"
            )
        axes = found[name]
    return np.array(list(itertools.product(*axes)), dtype=np.float64)


def random_starts(law: Law, n: int, seed: int = 0) -> np.ndarray:
    """``n`` starts drawn uniformly from each parameter's ``[lower, upper]`` (fit space)."""
    if int(n) < 1:
        raise ValueError(f"number of random starts must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    lo = np.array([s.lower for s in law.params])
    hi = np.array([s.upper for s in law.params])
    return lo + (hi - lo) * rng.random((int(n), law.n_params))
