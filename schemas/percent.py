"""How a change is given in per cent, one rule wherever a percentage is shown: the exact fraction of two
counts rounded half away from zero (`change_pct_rounded`, `ctip claims`, `compare`, the report, the outlier
warning), never a float's rounding."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, Inexact, localcontext

__all__ = ["ROUND_DOWN", "ROUND_HALF_UP", "exact_percent"]


def exact_percent(numerator: int, denominator: int, places: int, rounding: str = ROUND_HALF_UP) -> Decimal:
    """100 * numerator / denominator to `places` decimals, exactly.

    `rounding` is a decimal rounding mode: ROUND_HALF_UP rounds half away from zero,
    ROUND_DOWN cuts toward zero. The quotient is first cut toward zero at a precision
    finer than the distance between a fraction of these integers and any rounding
    boundary, so the final rounding is the one of the exact fraction.
    """
    if denominator == 0:
        raise ZeroDivisionError("percent of a zero denominator")
    scaled = 100 * numerator
    with localcontext() as context:
        context.prec = len(str(abs(scaled))) + len(str(abs(denominator))) + places + 5
        context.rounding = ROUND_DOWN
        context.traps[Inexact] = False
        quotient = Decimal(scaled) / Decimal(denominator)
        return quotient.quantize(Decimal(1).scaleb(-places), rounding=rounding) + 0  # + 0: no "-0"
