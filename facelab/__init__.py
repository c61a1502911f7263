"""FacePortal's offline face tools: model preparation, evaluation, calibration fitting,
liveness evaluation, benchmarks and test data. No serving module imports it."""
