"""The law registry: ``register_law``, ``get_law``, ``list_laws``.

Built-in laws register themselves when this package is imported: ``chinchilla`` (Hoffmann et
al. 2022), ``kaplan`` (Kaplan et al. 2020), ``power`` and ``power_shifted`` (one scale
variable, the latter with an offset as LAION fit CLIP), ``broken_power`` (Caballero et al.
2022), ``overtraining`` (Gadre et al. 2024, in compute and tokens per parameter),
``lr_annealing`` (Tissue et al. 2024, in learning-rate areas), ``loss_to_loss`` (Brandfonbrener
et al. 2024) and ``sigmoid_downstream`` (accuracy from loss, Bhagia et al. 2024). User laws are
registered with :func:`register_law`, either from a :class:`Law` or as a decorator on a plain
JAX function::

    @register_law(
        name="floor_power",
        inputs=("N",),
        params=[ParamSpec("e", "E", "exp", -1, 1, ("normal", 0, 1), (0.0, 0.5)), ...],
    )
    def floor_power(p, x):
        return jnp.logaddexp(p["e"], p["a"] - p["alpha"] * jnp.log(x["N"]))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bayescale.laws._spec import (
    Law,
    LawFn,
    ParamSpec,
    grid_starts,
    make_law,
    predict_log,
    random_starts,
    to_fit,
    to_natural,
    unpack,
)

_REGISTRY: dict[str, Law] = {}


def register_law(
    law: Law | None = None,
    *,
    name: str | None = None,
    params: Sequence[ParamSpec] | None = None,
    inputs: Sequence[str] | None = None,
    grids: Mapping[str, Sequence[Sequence[float]]] | None = None,
    doc: str | None = None,
    overwrite: bool = False,
) -> Law | Callable[[LawFn], Law]:
    """Register a law, from a :class:`Law` or as a decorator on ``fn(p, x)``.

    Parameters
    ----------
    law
        A ready :class:`Law`. Leave out to use the decorator form.
    name, params, inputs, grids, doc
        Decorator form: the arguments of :func:`make_law`.
    overwrite
        Replace a law already registered under the same name.

    Returns
    -------
    Law or decorator
        The registered law, or a decorator that builds, registers and returns it.

    Raises
    ------
    ValueError
        If the name is taken (and ``overwrite`` is false) or the law fails its checks.
    """
    if law is not None:
        if not isinstance(law, Law):
            raise TypeError(f"register_law expects a Law, got {type(law).__name__}")
        if law.name in _REGISTRY and not overwrite:
            raise ValueError(
                f"a law named {law.name!r} is already registered; pass overwrite=True to replace"
            )
        _REGISTRY[law.name] = law
        return law
    if name is None or params is None or inputs is None:
        raise TypeError("register_law(...) as a decorator needs name=, params= and inputs=")

    def decorate(fn: LawFn) -> Law:
        return register_law(make_law(name, fn, params, inputs, grids, doc), overwrite=overwrite)

    return decorate


def get_law(name: str | Law) -> Law:
    """Look up a registered law by name (a :class:`Law` passes through).

    Raises
    ------
    KeyError
        If no law has that name; the message lists the registered ones.
    """
    if isinstance(name, Law):
        return name
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown law {name!r}; registered laws: {sorted(_REGISTRY)}") from None


def list_laws() -> list[str]:
    """Names of all registered laws, sorted."""
    return sorted(_REGISTRY)


# Built-in laws register themselves on import (the catalogue; each module documents its paper).
from bayescale.laws.broken_power import BROKEN_POWER  # noqa: E402
from bayescale.laws.chinchilla import CHINCHILLA  # noqa: E402
from bayescale.laws.downstream import SIGMOID_DOWNSTREAM  # noqa: E402
from bayescale.laws.kaplan import KAPLAN  # noqa: E402
from bayescale.laws.loss_to_loss import LOSS_TO_LOSS  # noqa: E402
from bayescale.laws.lr_annealing import LR_ANNEALING  # noqa: E402
from bayescale.laws.overtraining import OVERTRAINING  # noqa: E402
from bayescale.laws.power import POWER  # noqa: E402
from bayescale.laws.power_shifted import POWER_SHIFTED  # noqa: E402

for _law in (
    CHINCHILLA,
    POWER,
    KAPLAN,
    OVERTRAINING,
    POWER_SHIFTED,
    LR_ANNEALING,
    BROKEN_POWER,
    LOSS_TO_LOSS,
    SIGMOID_DOWNSTREAM,
):
    register_law(_law)

__all__ = [
    "Law",
    "ParamSpec",
    "get_law",
    "grid_starts",
    "list_laws",
    "make_law",
    "predict_log",
    "random_starts",
    "register_law",
    "to_fit",
    "to_natural",
    "unpack",
]
