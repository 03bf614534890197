"""Pure rules of the investigation: what to look at (subjects) and what the readings show
(observations). No Django, no I/O."""
