"""The law registry: ``register_law``, ``get_law``, ``list_laws``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bayescale.laws.spec import AllocationFn, DerivedFn, Law, LawFn, ParamSpec, make_law

_REGISTRY: dict[str, Law] = {}


def register_law(
    law: Law | None = None,
    *,
    name: str | None = None,
    params: Sequence[ParamSpec] | None = None,
    inputs: Sequence[str] | None = None,
    grids: Mapping[str, Sequence[Sequence[float]]] | None = None,
    doc: str | None = None,
    derived: Mapping[str, DerivedFn] | None = None,
    allocation: AllocationFn | None = None,
    overwrite: bool = False,
) -> Law | Callable[[LawFn], Law]:
    """Register a law, from a :class:`Law` or as a decorator on ``fn(p, x)``.

    Parameters
    ----------
    law
        A ready :class:`Law`. Leave out to use the decorator form.
    name, params, inputs, grids, doc, derived, allocation
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
        law = make_law(name, fn, params, inputs, grids, doc, derived, allocation)
        return register_law(law, overwrite=overwrite)

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
