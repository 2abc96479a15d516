"""Law averaging (:mod:`bayescale.predict.averaging`): stacking weights (checked against
``arviz.compare(..., method="stacking")``) and the quantiles of a weighted mixture."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bayescale.infer.idata import import_arviz
from bayescale.predict.averaging import mixture_weights, stacking_weights, weighted_quantiles


def test_weights_sum_to_one_and_favour_the_better_model() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(0.0, 1.0, 300)
    # densities of the data under N(0, 1) (true), N(0.5, 1) and N(0, 3)
    lpd = np.stack(
        [-0.5 * ((y - mu) / s) ** 2 - np.log(s) for mu, s in ((0.0, 1.0), (0.5, 1.0), (0.0, 3.0))],
        -1,
    )
    w = stacking_weights(lpd)
    assert w.sum() == pytest.approx(1.0) and np.all(w >= 0)
    assert w[0] > 0.7 and w[0] == w.max()
    # identical models share the weight; a batch of problems is solved at once
    same = stacking_weights(np.stack([lpd[:, 0], lpd[:, 0]], -1))
    assert np.allclose(same, 0.5)
    mask = np.ones((2, 300), bool)
    mask[1, 150:] = False
    both = stacking_weights(np.stack([lpd, lpd]), mask)
    assert np.allclose(both[0], w, atol=1e-6)
    assert np.allclose(both[1], stacking_weights(lpd[:150]), atol=1e-6)


def test_weights_match_arviz_stacking() -> None:
    az = import_arviz()
    rng = np.random.default_rng(1)
    y = rng.normal(0.0, 1.0, 80)
    idatas = {}
    for name, (mu, s) in {"good": (0.0, 1.0), "biased": (0.4, 1.0), "wide": (0.0, 2.0)}.items():
        draws_mu = mu + rng.normal(0, 0.1, (2, 200))
        ll = -0.5 * ((y - draws_mu[..., None]) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)
        idatas[name] = az.from_dict(
            posterior={"mu": draws_mu}, log_likelihood={"y": ll}, observed_data={"y": y}
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = az.compare(idatas, ic="loo", method="stacking")
        loo_i = np.stack([np.asarray(az.loo(d, pointwise=True).loo_i) for d in idatas.values()], -1)
    ours = dict(zip(idatas, stacking_weights(loo_i), strict=True))
    for name in idatas:
        assert ours[name] == pytest.approx(float(cmp.loc[name, "weight"]), abs=2e-3), name


def test_weighted_quantiles_and_mixture_weights() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 101))
    eq = weighted_quantiles(x, [0.1, 0.5, 0.9])
    assert np.allclose(eq, np.quantile(x, [0.1, 0.5, 0.9], axis=1, method="inverted_cdf"))
    # a mixture of two samples with weights 0.75 / 0.25: its median sits in the heavier one
    a, b = rng.normal(0, 0.1, 300), rng.normal(10, 0.1, 100)
    w = mixture_weights(np.array([0.75, 0.25]), [300, 100])
    assert w.sum() == pytest.approx(1.0) and w[0] == pytest.approx(0.0025)
    q = weighted_quantiles(np.concatenate([a, b]), [0.5, 0.9], w)
    assert abs(q[0]) < 0.5 and q[1] > 9
    # where two laws disagree, the 90% interval of their even mixture spans both
    w = mixture_weights(np.array([0.5, 0.5]), [300, 100])
    lo, hi = weighted_quantiles(np.concatenate([a, b]), [0.05, 0.95], w)
    assert lo < a.mean() and hi > b.mean() and hi - lo > 9
