"""Click commands that are more than a thin call into the driver (tinyq/cli.py wires them in)."""
