"""Production-size benchmarks: timing, plans and index advice (:mod:`.benchmark`)."""
