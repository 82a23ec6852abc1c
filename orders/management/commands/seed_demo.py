"""Fill an empty installation with something to look at: a merchant, buyers, products, orders.

Everything goes through the services (deposits, wallet purchases, refunds), so
the demo ledger is exactly what real traffic writes and `reconcile` reports it
clean. One transaction: a failure leaves nothing behind. Running it again
changes nothing (the demo merchant's email is the marker).
"""

import math
import random
import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Role, User
from catalog.services import product_create
from core.progress import progress_bar
from orders.models import PaymentMethod
from orders.services import order_purchase, order_refund
from wallets.services import wallet_deposit, wallet_withdraw

DEMO_DOMAIN = "demo.paymentflow.test"
MERCHANT_EMAIL = f"merchant@{DEMO_DOMAIN}"
# An operator for /admin/ (staff and superuser, as `createsuperuser` makes one), so the
# back office can be tried without an interactive prompt.
OPERATOR_EMAIL = f"operator@{DEMO_DOMAIN}"
PRODUCTS = (
    ("Field notes (PDF)", Decimal("4.99")),
    ("Stock photo pack", Decimal("12.00")),
    ("Icon set", Decimal("19.50")),
    ("Video course", Decimal("49.00")),
    ("Font licence", Decimal("2.50")),
)
MAX_QUANTITY = 3
REFUND_SHARE = 0.2


class Command(BaseCommand):
    help = (
        "Create demo data through the services: an operator, a merchant, buyers, products and a few hundred "
        "wallet orders (about one in five refunded), and print the logins. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--buyers", type=int, default=5, help="Buyer accounts (default 5).")
        parser.add_argument("--orders", type=int, default=300, help="Orders to place (default 300).")
        parser.add_argument(
            "--password", help="Password of every demo account (default: a random one, printed at the end)."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed: the same seed, the same orders.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be created; create nothing.")

    def handle(self, *args, buyers: int, orders: int, password: str | None, seed: int, dry_run: bool, **options):
        if buyers < 1 or orders < 0:
            raise CommandError("--buyers must be at least 1 and --orders at least 0.")
        if User.objects.filter(email=MERCHANT_EMAIL).exists():
            self.stdout.write(
                f"Demo data already exists ({MERCHANT_EMAIL}); nothing changed. Use the password printed by the "
                f"first run, or set a new one with `manage.py changepassword {MERCHANT_EMAIL}`."
            )
            return
        plan = f"1 operator, 1 merchant, {buyers} buyers, {len(PRODUCTS)} products, {orders} orders"
        if dry_run:
            self.stdout.write(f"Dry run: would create {plan} ({MERCHANT_EMAIL}, buyer1@{DEMO_DOMAIN} …).")
            return

        password = password or secrets.token_urlsafe(12)
        progress = progress_bar(self.stderr, total=orders, unit="order", enabled=options["verbosity"] > 0)
        with transaction.atomic(), progress:
            merchant, customers, refunded = self._seed(
                buyers=buyers, orders=orders, password=password, seed=seed, progress=progress
            )
        self.stdout.write(self.style.SUCCESS(f"Created {plan} ({refunded} refunded)."))
        self.stdout.write("Every account has the same password:")
        self.stdout.write(f"  operator  {OPERATOR_EMAIL}  {password}   (/admin/)")
        self.stdout.write(f"  merchant  {merchant.email}  {password}   (/merchant/ and POST /api/v1/auth/login)")
        for customer in customers:
            self.stdout.write(f"  buyer     {customer.email}  {password}")

    def _seed(self, *, buyers: int, orders: int, password: str, seed: int, progress) -> tuple[User, list[User], int]:
        rng = random.Random(seed)  # noqa: S311 (demo data, not security)
        # bcrypt is slow on purpose: hash the shared password once.
        hashed = make_password(password)
        User.objects.create(
            email=OPERATOR_EMAIL,
            password=hashed,
            is_staff=True,
            is_superuser=True,
            first_name="Demo",
            last_name="Operator",
        )
        merchant = User.objects.create(
            email=MERCHANT_EMAIL, password=hashed, role=Role.MERCHANT, first_name="Demo", last_name="Merchant"
        )
        customers = [
            User.objects.create(
                email=f"buyer{n}@{DEMO_DOMAIN}",
                password=hashed,
                role=Role.USER,
                first_name="Demo",
                last_name=f"Buyer {n}",
            )
            for n in range(1, buyers + 1)
        ]
        products = [
            product_create(
                merchant=merchant,
                name=name,
                description=f"Demo product: {name.lower()}.",
                price=price,
                available_units=orders * MAX_QUANTITY + 10,
            )
            for name, price in PRODUCTS
        ]
        # Buyers take turns, so each needs at most this much (plus a withdrawal).
        most_spent = math.ceil(orders / buyers) * MAX_QUANTITY * max(price for _, price in PRODUCTS)
        for customer in customers:
            self._fund(customer, most_spent + Decimal("50.00"))

        refunded = 0
        for n in range(orders):
            product = rng.choice(products)
            order = order_purchase(
                buyer=customers[n % buyers],
                product_id=product.id,
                quantity=rng.randint(1, MAX_QUANTITY),
                method=PaymentMethod.WALLET,
            )
            if rng.random() < REFUND_SHARE:
                order_refund(order_id=order.id, actor=merchant, reason="Demo refund")
                refunded += 1
            progress.update(1)
        for customer in customers:
            wallet_withdraw(user=customer, amount=Decimal("25.00"), description="Demo withdrawal")
        return merchant, customers, refunded

    @staticmethod
    def _fund(user: User, amount: Decimal) -> None:
        # Deposits are capped at MAXIMUM_DEPOSIT each.
        while amount > 0:
            deposit = min(amount, settings.MAXIMUM_DEPOSIT)
            wallet_deposit(user=user, amount=deposit, description="Demo top-up")
            amount -= deposit
