"""Measuring models on the user's data: `tinyq eval` (accuracy on the host or on target) and
`tinyq calibrate` (calibration inputs captured by the device)."""
