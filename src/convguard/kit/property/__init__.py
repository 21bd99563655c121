"""Property-based checks: scenario documents (:mod:`.documents`), the query against the oracle on
the profile's generated datasets (:mod:`.differential`), metamorphic relations
(:mod:`.metamorphic`) and the two together for ``convguard test`` (:mod:`.checks`). The
strategies and relations themselves belong to a profile (``Profile.strategies``,
``Profile.relations``)."""
