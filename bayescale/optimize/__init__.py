"""Engine 1, arrays only: vectorised multi-start optimisation of one curve or many.

* :mod:`~bayescale.optimize.multistart` - every start of one curve in one compiled call;
* :mod:`~bayescale.optimize.curves` - many curves at once, sharded over devices;
* :mod:`~bayescale.optimize.resampling` - bootstrap refits as reweighted fits;
* :mod:`~bayescale.optimize.dependence` - resampling that keeps dependent points together
  (moving blocks along compute, bins of compute as clusters);

The host loop that feeds them chunks is :func:`bayescale.lanes.run_in_chunks`.
"""
