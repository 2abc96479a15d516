"""The multi-start core: the explore/polish strategy reaches the optimum of running every start
to convergence (Epoch's way), on Epoch's 240 Chinchilla points and Hoffmann's grid."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import bayescale as bs
from bayescale import enable_x64
from bayescale.laws import grid_starts
from bayescale.optimize.multistart import NEAR_BEST_RTOL, FitConfig, fit_multistart
from bayescale.status import CONVERGED, SCREENED


def test_explore_strategy_finds_the_full_run_optimum(chinchilla_240) -> None:
    """Every start run to convergence reaches the same optimum as the default strategy."""
    law = bs.get_law("chinchilla")
    d = chinchilla_240
    grid = grid_starts(law, "hoffmann")
    with enable_x64():
        data = bs.Data(
            {"N": jnp.asarray(d["N"]), "D": jnp.asarray(d["D"])},
            jnp.log(jnp.asarray(d["loss"])),
            jnp.ones(240),
        )
        # the default strategy on the whole grid (the shapes of bs.fit(..., "hoffmann"));
        # every 5th start run to convergence, without restarts, as Epoch did (900 starts keep
        # CI fast)
        fast = fit_multistart(jnp.asarray(grid), data, law, bs.Loss(), FitConfig())
        every = FitConfig(explore_steps=0, restarts=0)
        full = fit_multistart(jnp.asarray(grid[::5]), data, law, bs.Loss(), every)
    assert float(full.objective) == pytest.approx(float(fast.objective), rel=1e-9)
    np.testing.assert_allclose(full.params, fast.params, rtol=1e-4)
    assert int(full.status) == int(fast.status) == CONVERGED
    # in a full run many starts converge to the best basin; they are counted
    assert int(full.n_near_best) > 50
    f = np.asarray(full.start_objective)
    assert int(full.n_near_best) == np.sum(f <= f.min() * (1 + NEAR_BEST_RTOL))
    # the default strategy polishes 16 starts; the others stop after exploring (none of
    # Hoffmann's starts converges within the 20 exploration steps)
    status = np.asarray(fast.start_status)
    assert np.sum(status != SCREENED) == 16 and np.sum(status == CONVERGED) >= 12
    assert not np.any(np.asarray(full.start_status) == SCREENED)
