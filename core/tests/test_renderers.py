"""The orjson renderer writes the bytes djangorestframework_camel_case's renderer wrote."""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from djangorestframework_camel_case.render import CamelCaseJSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from core.errors import Throttled, problem_body
from core.renderers import CamelCaseORJSONRenderer, camel_key

SAMPLES = {
    "money as the serializers send it": {"balance_after": "100.50", "fee_amount": "0.00"},
    "uuids": {"order_id": uuid.UUID("12345678-1234-4234-8234-123456789abc"), "ids": [uuid.uuid4(), uuid.uuid4()]},
    "datetimes": {
        "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "with_micro": datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        "elsewhere": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
        "naive": datetime(2026, 1, 2, 3, 4, 5),
        "as_sent": "2026-01-01T00:00:00Z",
    },
    "nesting and key shapes": {
        "next_page_url": None,
        "results": [{"product_name": "ü €", "unit_price": "1.00", "is_active": True, "quantity": 3}],
        "non_field_errors": ["bad"],
        "key_2_part": 1,
        "_private": 1,
        "trailing_": 2,
        "camelAlready": 3,
        7: "an int key",
    },
    "line separators": {"text": "a\u2028b\u2029c", "control": "tab\tnul\x00"},
    "lazy strings": {"detail": gettext_lazy("Not found."), gettext_lazy("lazy_key"): 1},
    "tuples and empties": {"pair": (1, 2), "empty": {}, "none": [], "zero": 0},
    "a problem+json body": problem_body(Throttled(), errors={"amount_field": ["too big"]}),
    "drf's return containers": ReturnDict(
        {"user_id": "x", "rows": ReturnList([{"a_b": 1}], serializer=None)}, serializer=None
    ),
    "a list body": [{"entry_type": "SALE"}, {"entry_type": "FEE"}],
}


@pytest.mark.parametrize("data", SAMPLES.values(), ids=SAMPLES.keys())
def test_renders_the_bytes_of_the_camel_case_renderer(data):
    assert CamelCaseORJSONRenderer().render(data) == CamelCaseJSONRenderer().render(data)


def test_indented_json_is_left_to_drf_byte_for_byte():
    data = SAMPLES["nesting and key shapes"]
    media_type = "application/json; indent=4"
    assert CamelCaseORJSONRenderer().render(data, media_type) == CamelCaseJSONRenderer().render(data, media_type)


def test_a_raw_decimal_stays_an_exact_string_never_a_float():
    # DRF's encoder would write 0.1 + 0.2 as a float; serializers never send one, and neither does this.
    assert CamelCaseORJSONRenderer().render({"amount": Decimal("0.30"), "big": Decimal("12345678901234.99")}) == (
        b'{"amount":"0.30","big":"12345678901234.99"}'
    )


def test_no_body_for_none():
    assert CamelCaseORJSONRenderer().render(None) == b""


def test_key_conversion_is_cached_and_bounded():
    camel_key.cache_clear()
    camel_key("created_at")
    camel_key("created_at")
    info = camel_key.cache_info()
    assert (info.hits, info.misses) == (1, 1)
    assert info.maxsize is not None
