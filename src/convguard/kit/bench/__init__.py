"""Production-size benchmarks: timing, plans and index advice (:mod:`.benchmark`) on a profile's
synthetic data (:mod:`.data`)."""
