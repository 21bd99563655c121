"""Mutation testing of a query: the mutation operators over its SQL (:mod:`.mutants`) and the
run that kills mutants with scenarios, generated data and relations (:mod:`.mutate`)."""
