"""Records out, and what is said about them: :mod:`~bayescale.results.records` (Fit, BatchFit,
Draws, BatchDraws), :mod:`~bayescale.results.summaries` (allocation, critique, diagnostics,
per-curve tables, JSON) and :mod:`~bayescale.results.store` (save and load)."""
