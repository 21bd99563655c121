"""Property-based checks: dataset strategies (:mod:`.strategies`), the query against the oracle
on generated data (:mod:`.differential`), metamorphic relations (:mod:`.metamorphic`), the two
together for ``convguard test`` (:mod:`.checks`) and production-size synthetic data
(:mod:`.synthetic`)."""
