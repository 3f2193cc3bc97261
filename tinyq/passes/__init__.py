"""Graph-to-graph passes on the IR that every later stage relies on (quantize, lower)."""
