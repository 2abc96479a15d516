"""The one-call level: a table in, a record out, one curve or many.

:mod:`~bayescale.workflows.drawing` (``bayescale.fit``: the point fit and, by ``method=``, its
draws; ``with_draws``), :mod:`~bayescale.workflows.fitting` (the point ``fit``, ``fit_groups``),
:mod:`~bayescale.workflows.uncertainty` (``bootstrap``, ``nuts`` and their ``*_groups``
conveniences; the batch paths in :mod:`~bayescale.workflows.batching`),
:mod:`~bayescale.workflows.distributed` (``distribute``: a batch over several processes),
:mod:`~bayescale.workflows.posteriors` (``posterior_batch``, ``posterior_groups``: a posterior
per curve, by importance sampling or NUTS as each curve needs),
:mod:`~bayescale.workflows.approximation` (``laplace``: fast approximate normal draws),
:mod:`~bayescale.workflows.extrapolation` (``extrapolate``: one or several laws, one curve or
many, calibrated or not; its tables in :mod:`~bayescale.workflows.forecasting`),
:mod:`~bayescale.workflows.backtesting` (``backtest``: rolling-origin evaluation in one batch,
through the engine of :mod:`~bayescale.workflows.heldout`; hold-out rules in
:mod:`~bayescale.workflows.holdout`),
:mod:`~bayescale.workflows.comparison` (``compare``) and
:mod:`~bayescale.workflows.replication` (``replicate``, the main job).
"""
