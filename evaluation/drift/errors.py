"""The one exception type the drift engine raises for bad input."""

from __future__ import annotations


class DriftInputError(ValueError):
    """Reference or window data cannot be compared as asked.

    The message names the column or argument at fault and what to change; it is safe to
    show to the person who configured the monitor.
    """
