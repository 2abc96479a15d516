"""The one-call level: a table in, a record out, one curve or many.

:mod:`~bayescale.workflows.fitting` (``fit``, ``fit_groups``),
:mod:`~bayescale.workflows.uncertainty` (``bootstrap``, ``nuts`` and their ``*_groups``
conveniences; the batch paths in :mod:`~bayescale.workflows.batching`),
:mod:`~bayescale.workflows.extrapolation` (``extrapolate``),
:mod:`~bayescale.workflows.comparison` (``compare``) and
:mod:`~bayescale.workflows.replication` (``replicate``, the main job).
"""
