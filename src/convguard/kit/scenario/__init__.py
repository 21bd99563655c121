"""Scenario files: reading a ``.yaml``/``.json`` scenario, checking it against the schema and the
profile's contract, and converting its rows into a dataset (:mod:`.files`)."""
