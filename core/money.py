"""Money helpers: Decimal only, two places, half-up rounding in one place.

A float anywhere in a money path is a bug: JSON numbers are parsed as Decimal
(`core.parsers`), model fields are `MoneyField`, and the API renders
amounts as strings with exactly two places.
"""

import re
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.db.models import Sum, Value
from django.db.models.functions import Coalesce
from rest_framework import serializers

CENT = Decimal("0.01")
MAX_DIGITS = 14
DECIMAL_PLACES = 2


def quantize(amount: Decimal) -> Decimal:
    """Round an amount to the cent, half-up (the one rounding rule of the ledger)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def is_whole_cents(amount: object) -> bool:
    """Return whether `amount` is a finite Decimal with no fraction of a cent (10.50 yes, 1.005 no)."""
    return isinstance(amount, Decimal) and amount.is_finite() and quantize(amount) == amount


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """Return `percent`% of `amount`, rounded half-up to the cent."""
    return quantize(amount * percent / Decimal(100))


def to_minor_units(amount: Decimal) -> int:
    """Return an amount in cents, as card gateways expect it."""
    return int(quantize(amount) * 100)


class MoneyField(models.DecimalField):
    """A model field for an amount of money: 14 digits, 2 decimal places."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


# How an amount is written on the wire: ASCII digits, then at most one "." and two
# more digits. No sign, space, underscore, exponent or other script's digits, all
# of which Python's Decimal() would accept ("+5", " 5 ", "1_000", "1E3", "١٢").
MONEY_PATTERN = r"^[0-9]+(\.[0-9]{1,2})?$"
_MONEY_TEXT = re.compile(MONEY_PATTERN)


class MoneyAmountField(serializers.DecimalField):
    """A serializer field for money: accepts a JSON number or string, renders "100.50".

    The value as written must match `MONEY_PATTERN` ("10", "10.5", "10.50";
    a JSON number is judged by its own digits, so `1e3` and `1.005` are
    refused), then the bounds apply: positive unless `positive=False`, and
    `max_value` where given.
    """

    default_error_messages = {
        "invalid": "Must be a number written with digits, an optional '.' and at most 2 decimal places.",
    }

    def __init__(self, *, positive: bool = True, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        kwargs.setdefault("min_value", CENT if positive else Decimal(0))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        # bool is an int subclass; a float can only come from a non-API caller (the
        # parser reads JSON numbers as Decimal and int).
        if isinstance(data, bool | float) or not isinstance(data, str | int | Decimal):
            self.fail("invalid")
        text = str(data)
        if not _MONEY_TEXT.fullmatch(text):
            self.fail("invalid")
        return super().to_internal_value(text)


class MoneySum(Coalesce):
    """Sum amounts in the database as money: 0.00 over no rows, a Decimal to the cent on every backend.

    SQLite adds decimals as floating point and Django hands the sum back with 15
    significant digits ("59.9700000000000"); this rounds it to the cent after
    the backend's own conversion, exactly as the ledger rounds.
    """

    def __init__(self, expression):
        super().__init__(Sum(expression), Value(Decimal("0.00")), output_field=MoneyField())

    def get_db_converters(self, connection):
        return [*super().get_db_converters(connection), _to_cents]


def _to_cents(value, expression, connection):
    return quantize(Decimal(value))
