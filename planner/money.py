"""Money in the campaign's currency: the symbol the input's money cells used, or the Budget
sheet's ``currency`` setting, in every sentence and every Excel number format.

The currency is set once per run (:func:`using`) from the validated settings; every writer of
an amount asks :func:`money` or :func:`excel_money` instead of writing a ``$``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from typing import Optional

#: Symbols money cells may carry, and the ISO codes a planner may type for them.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥"}
DEFAULT = "$"

_CURRENCY = contextvars.ContextVar("currency", default=DEFAULT)


def currency_of(text: str) -> Optional[str]:
    """The currency a Budget-sheet ``currency`` cell names: a symbol, or an ISO code (None when neither).

    Known codes become their symbol (EUR -> €); another three-letter code (CHF, SEK, ...) is
    kept as the code and written before the amount ("CHF 1,200").
    """
    text = text.strip()
    if text in SYMBOLS.values():
        return text
    code = text.upper()
    if code in SYMBOLS:
        return SYMBOLS[code]
    if len(code) == 3 and code.isascii() and code.isalpha():
        return code
    return None


def current() -> str:
    """The run's currency symbol or code."""
    return _CURRENCY.get()


@contextlib.contextmanager
def using(currency: Optional[str]):
    """Write amounts in ``currency`` inside the block (``$`` when None)."""
    token = _CURRENCY.set(currency or DEFAULT)
    try:
        yield
    finally:
        _CURRENCY.reset(token)


def set_currency(currency: Optional[str]) -> None:
    """Write amounts in ``currency`` from now on in this context (a worker process, a command)."""
    _CURRENCY.set(currency or DEFAULT)


def money(amount: float, decimals: int = 2) -> str:
    """``$1,200.00``, ``€1,200``, ``CHF 1,200.00``; a minus before the symbol."""
    symbol = _CURRENCY.get()
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.{decimals}f}"
    return f"{sign}{symbol}{digits}" if len(symbol) == 1 else f"{sign}{symbol} {digits}"


def excel_money(decimals: int = 2) -> str:
    """An Excel number format for amounts in the run's currency (``"€"#,##0.00``)."""
    symbol = _CURRENCY.get()
    places = "." + "0" * decimals if decimals else ""
    quoted = f'"{symbol}"' if len(symbol) == 1 else f'"{symbol} "'
    return f"{quoted}#,##0{places}"


def in_campaign_currency(function):
    """Run ``function(campaign, ...)`` writing amounts in that campaign's currency."""

    @functools.wraps(function)
    def wrapper(campaign, *args, **kwargs):
        with using(campaign.settings.currency):
            return function(campaign, *args, **kwargs)

    return wrapper
