"""Compiling generated C: for the host here, for boards in the firmware modules."""
