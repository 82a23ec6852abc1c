"""Codes are secrets at rest: a pg_dump of the database holds none of them in clear."""

import os
import shutil
import subprocess

import pytest
from django.db import connection

from delivery.models import Code
from delivery.tests.factories import codes_product, new_codes
from orders.models import PaymentMethod
from orders.services import order_purchase
from orders.tests.helpers import funded_buyer


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_a_database_dump_contains_no_code_in_clear():
    codes = new_codes(4, prefix="DUMP-SECRET")
    product = codes_product(codes=codes)
    order_purchase(buyer=funded_buyer("100.00"), product_id=product.id, quantity=2, method=PaymentMethod.WALLET)
    database = connection.settings_dict
    environment = {**os.environ, "PGPASSWORD": database["PASSWORD"] or ""}
    command = ["pg_dump", "--host", database["HOST"], "--port", str(database["PORT"]), "--username", database["USER"]]

    dump = subprocess.run(  # noqa: S603 (our own arguments)
        [*command, "--no-owner", database["NAME"]], env=environment, capture_output=True, text=True, check=True
    ).stdout

    # Every code row is in the dump, sold or not, and not one code in clear.
    assert all(code.ciphertext in dump for code in Code.objects.all())
    assert not [code for code in codes if code in dump]
