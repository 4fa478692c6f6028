"""Multiple-comparison adjustment of p-values (Holm and Benjamini–Hochberg).

Matches ``statsmodels.stats.multitest.multipletests(method="holm" | "fdr_bh")``:

* Holm (controls the family-wise error rate): sort p ascending; the i-th smallest
  (1-based) becomes max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎).
* Benjamini–Hochberg (controls the false discovery rate): the i-th smallest becomes
  min over j ≥ i of min(1, m·p₍ⱼ₎/j).

Undefined p-values (None) are left out of the family and stay None, so m counts only the
comparisons that actually produced a p-value.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Literal

from evaluation.stats.inputs import StatsInputError

Correction = Literal["holm", "bh"]
CORRECTIONS: tuple[str, ...] = ("holm", "bh")


def adjust_p_values(*, p_values: Sequence[float | None], method: Correction) -> list[float | None]:
    """Adjust ``p_values`` for multiple comparisons with ``method`` "holm" or "bh".

    Returns a list in the input order; None entries stay None and are not counted.
    """
    if method not in CORRECTIONS:
        raise StatsInputError(f"Unknown correction {method!r}; use 'holm', 'bh' or no correction.")
    for p in p_values:
        if p is not None and not (isinstance(p, numbers.Real) and 0 <= p <= 1):
            raise StatsInputError(f"p-values must lie between 0 and 1, got {p!r}.")
    defined = [(float(p), i) for i, p in enumerate(p_values) if p is not None]
    # Stable sort keeps ties in input order, as numpy's mergesort in statsmodels does.
    order = sorted(defined, key=lambda item: item[0])
    m = len(order)
    adjusted: list[float | None] = [None] * len(p_values)
    if m == 0:
        return adjusted
    if method == "holm":
        running = 0.0
        for rank, (p, index) in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p))
            adjusted[index] = running
    else:
        running = math.inf
        for rank in range(m - 1, -1, -1):
            p, index = order[rank]
            running = min(running, m * p / (rank + 1))
            adjusted[index] = min(1.0, running)
    return adjusted
