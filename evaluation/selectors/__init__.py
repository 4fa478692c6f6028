"""Reads of runs, evaluations and A/B tests, always narrowed to one organization."""
