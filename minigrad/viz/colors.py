"""The fill colours of drawings (``mg.viz.COLORS``)."""

COLORS = {
    "param": "#cfe2ff",  # parameters (and leaves that require grad)
    "input": "#e9ecef",  # constants: data, targets
    "output": "#d1e7dd",  # what was asked to be drawn
    "bad": "#f8d7da",  # holds NaN or Inf (in its data, gradient or tangent)
    "op": "#fff3cd",
    "collapsed": "#e2d9f3",  # a collapsed module (detail="ops"), repeated modules folded
    "layer": "#f8f9fa",  # a layer drawn as one node (the default drawing)
}
