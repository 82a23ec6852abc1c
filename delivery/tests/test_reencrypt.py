"""`manage.py reencrypt_codes`: every code moves to the newest key, once; a second run moves nothing."""

import base64
from io import StringIO

import pytest
from django.core.management import call_command

from delivery.crypto import code_decrypt, code_lookup_hash
from delivery.models import Code
from delivery.services.codes import code_delete
from delivery.tests.factories import codes_product

pytestmark = pytest.mark.django_db

NEW_KEY = base64.urlsafe_b64encode(b"z" * 32).decode()


def reencrypt() -> str:
    out = StringIO()
    call_command("reencrypt_codes", "--batch-size", "2", stdout=out)
    return out.getvalue()


def test_every_code_deleted_ones_too_moves_to_the_newest_key_and_only_once(settings):
    product = codes_product(codes=5)
    code_delete(product_id=product.id, code_id=Code.objects.first().id, merchant=product.merchant)
    before = {code.id: code_decrypt(code.ciphertext) for code in Code.objects.all()}
    settings.DELIVERY_ENCRYPTION_KEYS = [NEW_KEY, *settings.DELIVERY_ENCRYPTION_KEYS]

    assert "5 code(s) re-encrypted under the newest key, 0 current." in reencrypt()
    assert "0 code(s) re-encrypted under the newest key, 5 current." in reencrypt()

    settings.DELIVERY_ENCRYPTION_KEYS = [NEW_KEY]
    after = {code.id: (code_decrypt(code.ciphertext), code.lookup_hash) for code in Code.objects.all()}
    assert after == {code_id: (code, code_lookup_hash(code)) for code_id, code in before.items()}


def test_without_a_new_key_nothing_moves():
    codes_product(codes=3)

    assert "0 code(s) re-encrypted under the newest key, 3 current." in reencrypt()
