"""Real-data examples on the public data sets in ../shared/data (skipped when absent).

Small settings of the four examples that ``examples/real_data.py`` runs in full and
``docs/real-data.md`` records. A missing data set skips its tests (fails them in CI, under
``BAYESCALE_REQUIRE_SHARED=1``; see ``conftest.shared_path``). Every bound below was measured
at these settings on the 2-core CPU machine; the docstrings say how far it sits from the
measured value and why.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import shared_path

import bayescale as bs
from bayescale.data.public import (
    gadre_fit_runs,
    gemstones_annealing,
    gemstones_cooldowns,
    load_gadre,
    load_gemstones,
    load_laion_segmentation,
    pareto_bins,
)
from bayescale.predict.posterior import predict_log_loss


def _width90(v: np.ndarray) -> float:
    lo, hi = np.quantile(v, [0.05, 0.95])
    return float(hi - lo)


# --------------------------------------------------------------------------- loaders


def test_loaders_read_the_released_files() -> None:
    root = shared_path()
    g = load_gadre(root)
    assert len(g) == 104 and np.allclose(g["M"], g["D"] / g["N"])
    assert sorted(g.loc[gadre_fit_runs(g), "dataset"].value_counts()) == [5, 5, 5]
    hot = load_gemstones(root, "hot")
    assert hot.shape[0] == 220 and hot["run"].nunique() == 22
    cool = gemstones_cooldowns(root)
    assert len(cool) == 199 and np.allclose(cool["step"] / cool["start"], 1.1, atol=1e-3)
    laion = load_laion_segmentation(root)
    assert sorted(laion["family"].unique()) == ["clip", "mammut"]
    front = {
        fam: int(pareto_bins(t["C"].to_numpy(), t["loss"].to_numpy()).sum())
        for fam, t in laion.groupby("family")
    }
    assert front == {"clip": 22, "mammut": 22}  # the paper's pareto_bin front, re-derived


def test_loaders_name_a_missing_folder(tmp_path) -> None:
    with pytest.raises(bs.DataError, match="Gadre et al. data not found"):
        load_gadre(tmp_path)
    with pytest.raises(bs.DataError, match="Gemstones variant 'hot' not found"):
        load_gemstones(tmp_path)
    with pytest.raises(bs.DataError, match="LAION segmentation not found"):
        load_laion_segmentation(tmp_path)


def test_loaders_name_a_missing_evaluation_or_run() -> None:
    root = shared_path()
    with pytest.raises(bs.DataError, match="no evaluation 'nope'"):
        load_gadre(root, eval_set="nope")
    with pytest.raises(bs.DataError, match="unknown Gemstones run"):
        gemstones_annealing(root, "1x1")


# --------------------------------------------------------------------------- gemstones


@pytest.fixture(scope="module")
def gem_hot() -> tuple[pd.DataFrame, bs.Fit]:
    """Approach 3 on the 220 constant-LR checkpoints: summed Huber (delta 1e-3) on log loss
    from the 4,500-point grid, the set-up of McLeish et al.'s ``depth_width.py``."""
    df = load_gemstones(shared_path(), "hot")
    return df, bs.fit(df, "chinchilla", loss="huber", delta=1e-3, starts="hoffmann")


def test_gemstones_approach3_reproduces_the_published_fit(gem_hot) -> None:
    """The published fit (parameters_delta-3/..._hot.json, scipy L-BFGS-B from the same grid):
    we reach the same objective (to 1e-9 relative; measured equal to 10 digits) and the same
    parameters within the optimiser tolerance along the flat direction of (b, beta), which
    the 220 points pin down least: measured |diff| 2e-5 (alpha), 1.1e-4 (beta), 4e-5 (e),
    3.5e-4 (a), 2.5e-3 (b)."""
    _, f = gem_hot
    path = shared_path("gemstones", "parameters_delta-3")
    pub = json.loads((path / "approach_3_parameters_grid_search_0_hot.json").read_text())
    (alpha, beta), (a, b) = pub["exponents"]["0"], pub["coefficients"]["0"]
    th = f.theta
    assert float(f.result.objective) <= pub["loss"]["0"] * (1 + 1e-9)
    assert float(f.result.objective) == pytest.approx(pub["loss"]["0"], rel=1e-6)
    assert th["alpha"] == pytest.approx(alpha, abs=1e-3)
    assert th["beta"] == pytest.approx(beta, abs=2e-3)
    assert th["e"] == pytest.approx(pub["irreducible_error"]["0"], abs=1e-3)
    assert th["a"] == pytest.approx(a, abs=5e-3)
    assert th["b"] == pytest.approx(b, abs=3e-2)


def test_gemstones_cluster_bootstrap_widens_the_parameter_exponent(gem_hot) -> None:
    """Checkpoints of one run share its N, so the 220 points hold only 22 values of N: a
    point bootstrap treats them as 220 independent looks at alpha and E. Resampling whole runs
    (22 clusters) gives 90% intervals ~3x wider for alpha and ~2x for E (measured over seeds
    0-2 at 100 and 200 resamples: 2.6-3.4x and 1.9-2.1x), while beta - identified within each
    curve - is not widened (0.6-0.7x). Bounds: alpha > 1.8x, E > 1.4x, beta < 1.0x."""
    df, f = gem_hot
    plain = bs.bootstrap(f, 100, seed=0, chunk=100)
    cluster = bs.bootstrap(f, 100, seed=0, chunk=100, groups=df["run"].to_numpy())
    assert cluster.diagnostics["n_groups"] == 22
    for d in (plain, cluster):
        assert d.diagnostics["status_counts"]["converged"] >= 75  # measured 80-91 of 100
    p, c = bs.natural_draws(f, plain), bs.natural_draws(f, cluster)
    assert _width90(c["alpha"]) > 1.8 * _width90(p["alpha"])
    assert _width90(c["E"]) > 1.4 * _width90(p["E"])
    assert _width90(c["beta"]) < _width90(p["beta"])


# --------------------------------------------------------------------------- gadre


def test_gadre_overtraining_law_predicts_the_large_models() -> None:
    """Gadre et al.'s set-up: the over-training law fitted to their five small runs per
    training set (11M-411M at M = 20, 11M at M = 320), extrapolated to the 1.4B and 6.9B
    models (3 per set), scored on C4 eval loss with the package's default Huber noise.

    Measured relative errors: RedPajama -0.19%, +0.19%, +0.21% (the authors' notebook: 0.71%
    and 0.73%, "under 1%"); RefinedWeb -0.60%, -0.22%, -1.87%; C4 -0.89%, +1.18%, -4.92%.
    The 6.9B C4 model is under-predicted by every fit we tried (the authors' own: 4.3%).
    Bounds: RedPajama < 0.5%, every 1.4B model < 1.5%, every model < 6%, and the 6.9B model
    under-predicted by > 2% (C4) and > 1% (RefinedWeb); eta within 0.10-0.15 (measured
    0.117, 0.132, 0.125)."""
    g = load_gadre(shared_path())
    large = g["N"] > 1e9
    errors = {}
    for name in ("c4_original", "rpj", "rw_original"):
        table = g[(g["dataset"] == name) & (gadre_fit_runs(g) | large)].reset_index(drop=True)
        ex = bs.extrapolate(table, "overtraining", holdout_above=("N", 1e9), method="point")
        assert ex.scores["n_train"] == 5 and ex.scores["n_holdout"] == 3
        assert 0.10 < ex.fit.params["eta"] < 0.15
        for row, err in zip(ex.holdout["row"], ex.holdout["rel_error"], strict=True):
            errors[table.loc[row, "run"]] = float(err)
    assert max(abs(v) for k, v in errors.items() if k.startswith("rpj")) < 0.005
    assert max(abs(v) for k, v in errors.items() if "1b" in k) < 0.015
    assert max(abs(v) for v in errors.values()) < 0.06
    assert errors["c4_original-open_lm_7b-1.0"] < -0.02
    assert errors["rw_original-open_lm_7b-1.0"] < -0.01


# --------------------------------------------------------------------------- laion


@pytest.mark.slow
def test_laion_clip_mammut_robust_comparison() -> None:
    """power_shifted (A (C + x0)^-alpha + E) fitted per family to the paper's pareto_bin
    front of ADE20K error vs training GFLOPs (22 points each), 100 bootstrap refits each; the
    probability that MaMMUT's curve is below CLIP's is the share of (MaMMUT, CLIP) draw pairs
    where it is. Measured over seeds 0-2 (100 and 200 resamples): 0.965-0.989 at 1e12 GFLOPs
    (just past the data, 6.2e11), 0.46-0.55 at 1e13 and 0.15-0.21 at 1e14: MaMMUT leads where
    there is data, and the lead is a coin flip 16x beyond it. Bands: > 0.9, 0.3-0.7, < 0.35.
    Point fits (deterministic): alpha 0.203 (CLIP), 0.316 (MaMMUT); E 0.461, 0.488."""
    laion = load_laion_segmentation(shared_path())
    law = bs.get_law("power_shifted")
    curves = {}
    for family, t in laion.groupby("family"):
        t = t[pareto_bins(t["C"].to_numpy(), t["loss"].to_numpy())]
        f = bs.fit(t, "power_shifted", x="C", loss=bs.Noise("huber", 1e-3))
        d = bs.bootstrap(f, 100, seed=0, chunk=100)
        assert d.diagnostics["status_counts"]["converged"] >= 95  # measured 99, 99
        curves[family] = (f, d)
    (fc, dc), (fm, dm) = curves["clip"], curves["mammut"]
    assert fc.params["alpha"] == pytest.approx(0.203, abs=0.01)
    assert fm.params["alpha"] == pytest.approx(0.316, abs=0.01)
    assert fc.params["E"] == pytest.approx(0.461, abs=0.01)
    assert fm.params["E"] == pytest.approx(0.488, abs=0.01)

    def p_below(c: float) -> float:
        m, k = (np.exp(predict_log_loss(law, d.flat(), {"x": [c]})[:, 0]) for d in (dm, dc))
        return float(np.mean(m[:, None] < k[None, :]))

    assert p_below(1e12) > 0.9
    assert 0.3 < p_below(1e13) < 0.7
    assert p_below(1e14) < 0.35


# --------------------------------------------------------------------------- lr annealing


def test_lr_annealing_fits_a_gemstones_curve_with_its_cooldowns() -> None:
    """Tissue et al.'s L0 + A S1^-alpha - C S2 on one model (1024x28, 543M parameters): its
    50 constant-LR checkpoints (every 477 steps to 100B tokens) and the ends of its 10
    cooldown runs (linear to 0 over 10% more steps), S1 and S2 from each row's own schedule
    (lambda 0.999, LR in units of its peak). Measured in-sample |relative error|: mean 0.22%,
    cooldown ends 0.58%, max 3.5% (the first checkpoint, step 477, where the unknown
    warm-up matters most); alpha 0.655; the annealing bonus C S2 of the longest cooldown
    0.089 (observed drop from its start: 0.081, with 10% more steps). Bounds: mean < 0.4%,
    cooldowns < 1%, alpha 0.5-0.8, bonus 0.05-0.13, so a law or schedule that loses the
    annealing term fails (dropping the fitted C S2 moves the cooldown ends 2.3-3.0% off)."""
    t = gemstones_annealing(shared_path(), "1024x28")
    assert (t["kind"] == "cooldown").sum() == 10 and (t["kind"] == "constant").sum() == 50
    f = bs.fit(t, "lr_annealing")
    law = bs.get_law("lr_annealing")
    pred = np.exp(predict_log_loss(law, f.result.theta, {"S1": t["S1"], "S2": t["S2"]})[0])
    rel = np.abs(pred / t["loss"].to_numpy() - 1)
    cool = (t["kind"] == "cooldown").to_numpy()
    assert rel.mean() < 0.004
    assert rel[cool].mean() < 0.01
    assert 0.5 < f.params["alpha"] < 0.8
    assert 0.05 < f.params["C"] * t["S2"].max() < 0.13
