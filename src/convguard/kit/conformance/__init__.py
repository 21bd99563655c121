"""Running a query as the application runs it: binding parameters as the driver does
(:mod:`.binding`), seeding rows (:mod:`.seed`), running and judging scenarios on a workbench
(:mod:`.runner`), the profile's hooks (:mod:`.profile_kit`) and the text/json report
(:mod:`.report`)."""
