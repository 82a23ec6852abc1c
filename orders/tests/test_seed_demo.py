"""`manage.py seed_demo`: demo accounts, products and orders through the services, once."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Role, User
from accounts.services import user_authenticate
from catalog.models import Product
from orders.management.commands.seed_demo import MERCHANT_EMAIL, OPERATOR_EMAIL
from orders.models import Order, OrderStatus
from wallets.models import LedgerEntry

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_creates_a_shop_with_completed_and_refunded_orders_and_prints_the_logins():
    out = seed("--orders", "25", "--buyers", "3", "--password", "demo-password-123")

    merchant = User.objects.get(email=MERCHANT_EMAIL)
    assert merchant.role == Role.MERCHANT
    assert User.objects.filter(email__startswith="buyer", role=Role.USER).count() == 3
    assert Product.objects.filter(merchant=merchant).count() == 5
    statuses = set(Order.objects.values_list("status", flat=True))
    assert Order.objects.count() == 25
    assert statuses == {OrderStatus.COMPLETED, OrderStatus.REFUNDED}
    assert f"merchant  {MERCHANT_EMAIL}  demo-password-123" in out
    assert "buyer3@demo.paymentflow.test  demo-password-123" in out
    assert user_authenticate(email="buyer1@demo.paymentflow.test", password="demo-password-123")


def test_the_demo_books_reconcile_clean():
    seed("--orders", "20", "--buyers", "2")

    out = StringIO()
    call_command("reconcile", "--json", stdout=out, stderr=StringIO())

    assert json.loads(out.getvalue())["clean"] is True


def test_a_random_password_is_printed_when_none_is_given():
    out = seed("--orders", "0", "--buyers", "1")

    password = out.split(f"merchant  {MERCHANT_EMAIL}  ")[1].split()[0]
    assert len(password) >= 12
    assert user_authenticate(email=MERCHANT_EMAIL, password=password)


def test_running_it_again_changes_nothing():
    seed("--orders", "5", "--buyers", "1")
    counts = (User.objects.count(), Order.objects.count(), LedgerEntry.objects.count())

    out = seed("--orders", "5", "--buyers", "1")

    assert "already exists" in out
    assert (User.objects.count(), Order.objects.count(), LedgerEntry.objects.count()) == counts


def test_dry_run_creates_nothing():
    out = seed("--dry-run")

    assert "Dry run" in out
    assert "300 orders" in out
    assert not User.objects.exists()


def test_an_operator_is_created_for_the_back_office_and_its_login_printed(client):
    out = seed("--orders", "0", "--buyers", "1", "--password", "demo-password-123")

    assert f"operator  {OPERATOR_EMAIL}  demo-password-123" in out
    operator = User.objects.get(email=OPERATOR_EMAIL)
    assert operator.is_operator
    assert client.login(email=OPERATOR_EMAIL, password="demo-password-123")
    assert client.get("/admin/").status_code == 200


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stderr", "drawn"), [(Terminal, True), (StringIO, False)], ids=["terminal", "piped"])
def test_a_progress_bar_on_a_terminal_only(stderr, drawn):
    err = stderr()

    call_command("seed_demo", "--orders", "5", "--buyers", "1", stdout=StringIO(), stderr=err)

    assert Order.objects.count() == 5
    assert ("/5 [" in err.getvalue()) is drawn
    assert drawn or err.getvalue() == ""
