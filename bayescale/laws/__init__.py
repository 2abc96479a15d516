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

from bayescale.laws.broken_power import BROKEN_POWER
from bayescale.laws.chinchilla import CHINCHILLA
from bayescale.laws.downstream import SIGMOID_DOWNSTREAM
from bayescale.laws.kaplan import KAPLAN
from bayescale.laws.loss_to_loss import LOSS_TO_LOSS
from bayescale.laws.lr_annealing import LR_ANNEALING
from bayescale.laws.overtraining import OVERTRAINING
from bayescale.laws.power import POWER
from bayescale.laws.power_shifted import POWER_SHIFTED
from bayescale.laws.registry import get_law, list_laws, register_law
from bayescale.laws.spec import (
    Law,
    ParamSpec,
    derived_values,
    grid_starts,
    make_law,
    predict_log,
    random_starts,
    to_fit,
    to_natural,
    unpack,
)

# The built-in catalogue (each module documents its paper).
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
    "derived_values",
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
