"""State changes of runs, evaluations and A/B tests; one module per kind of object."""
