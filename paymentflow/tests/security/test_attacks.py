"""Attacks, one table each: broken object-level authorization, mass assignment, login brute
force, oversized and deeply nested bodies, SQL meta-characters, and the security headers.

Bad tokens (tampered, `alg: none`, expired, refresh as access and back, blacklisted,
unknown or deactivated user) are proven in accounts/tests/test_tokens.py and
accounts/tests/test_api.py; docs/security.md points there.
"""

import json
import re
import uuid
from decimal import Decimal
from urllib.parse import quote

import pytest

from accounts.models import Role, User
from accounts.services import token_pair_for
from accounts.tests.factories import MerchantFactory, UserFactory
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from core.models import IdempotencyKey
from orders.models import Order, OrderStatus
from orders.services import order_purchase
from wallets.models import Journal, LedgerEntry, Wallet
from wallets.tests.factories import fund_wallet

pytestmark = pytest.mark.django_db

API = "/api/v1"
D = Decimal


@pytest.fixture
def fast_auth(settings):
    """Register and login without bcrypt's cost or the rate limit: these tests are about the input."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AUTH_THROTTLE_RATE = "100000/min"
    return settings


@pytest.fixture
def world(auth_client):
    """A victim buyer with a completed order from merchant A, merchant B, and a stranger."""
    victim, stranger = UserFactory(), UserFactory()
    merchant_a, merchant_b = MerchantFactory(), MerchantFactory()
    fund_wallet(victim, "100.00")
    product_a = ProductFactory(merchant=merchant_a, price=D("10.00"), available_units=10)
    product_b = ProductFactory(merchant=merchant_b, price=D("7.00"), available_units=10)
    order = order_purchase(buyer=victim, product_id=product_a.id, quantity=1, method="WALLET")
    return {
        "victim": victim,
        "stranger": stranger,
        "merchant_a": merchant_a,
        "merchant_b": merchant_b,
        "product_a": product_a,
        "product_b": product_b,
        "order": order,
        "client": auth_client,
    }


# --- BOLA: another user's objects ----------------------------------------------------------------

# (who asks, method, path template, status, code): the API answers 404 for another user's private
# object (orders, whose ids must not leak) and 403 for a product one does not own.
BOLA = {
    "order read by a stranger": ("stranger", "get", "/orders/{order}", 404, "not_found"),
    "order read by another merchant": ("merchant_b", "get", "/orders/{order}", 404, "not_found"),
    "order refunded by a stranger": ("stranger", "post", "/orders/{order}/refund", 404, "not_found"),
    "order refunded by another merchant": ("merchant_b", "post", "/orders/{order}/refund", 404, "not_found"),
    "order refunded by its buyer": ("victim", "post", "/orders/{order}/refund", 403, "permission_denied"),
    "product changed by another merchant": ("merchant_b", "patch", "/products/{product_a}", 403, "permission_denied"),
    "product deleted by another merchant": ("merchant_b", "delete", "/products/{product_a}", 403, "permission_denied"),
    "product changed by a user": ("stranger", "patch", "/products/{product_a}", 403, "permission_denied"),
    "product deleted by a user": ("stranger", "delete", "/products/{product_a}", 403, "permission_denied"),
}


@pytest.mark.parametrize("case", BOLA)
def test_bola_on_object_endpoints(world, case):
    who, method, template, status, code = BOLA[case]
    client = world["client"](world[who])
    path = API + template.format(order=world["order"].id, product_a=world["product_a"].id)

    response = getattr(client, method)(path, {"name": "Hijacked", "availableUnits": 0}, format="json")

    assert (response.status_code, response.json()["code"]) == (status, code)
    order, product = Order.objects.get(id=world["order"].id), Product.objects.get(id=world["product_a"].id)
    assert order.status == OrderStatus.COMPLETED
    assert (product.name, product.available_units, product.deleted_at) == (world["product_a"].name, 9, None)
    assert Wallet.objects.get(user=world["victim"]).balance == D("90.00")


# Lists are scoped to the caller whatever the query says: ids of other users are ignored.
LISTS = {
    "transactions": ("stranger", "/wallet/transactions?walletId={victim_wallet}&userId={victim}"),
    "purchases": ("stranger", "/orders?buyerId={victim}&buyer={victim}"),
    "sales": ("merchant_b", "/orders/merchant/sales?merchantId={merchant_a}&merchant={merchant_a}"),
    "my products": ("merchant_b", "/products/merchant/my-products?merchantId={merchant_a}"),
}
# What each caller legitimately owns in `world`: merchant B has a product of its own.
OWN_OBJECTS = {"my products": 1}


@pytest.mark.parametrize("case", LISTS)
def test_lists_only_ever_show_the_callers_own_objects(world, case):
    who, template = LISTS[case]
    victim_wallet = Wallet.objects.get(user=world["victim"]).id
    path = API + template.format(
        victim=world["victim"].id, victim_wallet=victim_wallet, merchant_a=world["merchant_a"].id
    )

    response = world["client"](world[who]).get(path)

    assert response.status_code == 200
    assert response.json()["count"] == OWN_OBJECTS.get(case, 0)
    assert str(world["product_a"].id) not in response.content.decode()
    assert str(world["order"].id) not in response.content.decode()


def test_a_wallet_is_only_ever_the_callers(world):
    response = world["client"](world["stranger"]).get(f"{API}/wallet?userId={world['victim'].id}")

    assert response.json()["id"] == str(Wallet.objects.get(user=world["stranger"]).id)
    assert response.json()["balance"] == "0.00"


# --- mass assignment: keys nobody may set ----------------------------------------------------

HOSTILE = {
    "id": "00000000-0000-4000-8000-00000000dead",
    "role": "MERCHANT",
    "isStaff": True,
    "isSuperuser": True,
    "isActive": False,
    "balance": "999999.00",
    "isFrozen": False,
    "entryCount": 0,
    "walletId": "00000000-0000-4000-8000-000000000001",
    "userId": "00000000-0000-4000-8000-000000000002",
    "buyerId": "00000000-0000-4000-8000-000000000003",
    "merchantId": "00000000-0000-4000-8000-000000000004",
    "merchant": "00000000-0000-4000-8000-000000000004",
    "status": "REFUNDED",
    "availableUnits": 0,
    "unitsSupplied": 999,
    "unitPrice": "0.01",
    "totalAmount": "0.01",
    "feeAmount": "0.00",
    "currency": "XXX",
    "type": "ADJUSTMENT",
    "balanceAfter": "999999.00",
    "createdAt": "2000-01-01T00:00:00Z",
    "updatedAt": "2000-01-01T00:00:00Z",
    "deletedAt": "2000-01-01T00:00:00Z",
}


def _without(*keys: str) -> dict:
    return {key: value for key, value in HOSTILE.items() if key not in keys}


@pytest.fixture
def actors(fast_auth):
    user, merchant = User.objects.create_user("buyer@example.com", "violet-anchor-meadow-42"), MerchantFactory()
    fund_wallet(user, "100.00")
    fund_wallet(merchant, "100.00")
    product = ProductFactory(merchant=merchant, price=D("10.00"), available_units=10)
    return {"user": user, "merchant": merchant, "product": product}


def _client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user=user).access}")
    return client


def _register(actors):
    body = {"email": "new@example.com", "password": "violet-anchor-meadow-42", **_without("role")}
    return _client(None).post(f"{API}/auth/register", body, format="json"), 201


def _login(actors):
    body = {"email": "buyer@example.com", "password": "violet-anchor-meadow-42", **HOSTILE}
    return _client(None).post(f"{API}/auth/login", body, format="json"), 200


def _refresh(actors):
    body = {"refreshToken": token_pair_for(user=actors["user"]).refresh, **HOSTILE}
    return _client(None).post(f"{API}/auth/refresh", body, format="json"), 200


def _deposit(actors):
    return _client(actors["user"]).post(f"{API}/wallet/deposit", {"amount": "5.00", **HOSTILE}, format="json"), 201


def _withdraw(actors):
    return _client(actors["user"]).post(f"{API}/wallet/withdraw", {"amount": "5.00", **HOSTILE}, format="json"), 201


def _create_product(actors):
    body = {"name": "Honest", "price": "3.00", **_without("availableUnits"), "availableUnits": 4}
    return _client(actors["merchant"]).post(f"{API}/products", body, format="json"), 201


def _patch_product(actors):
    body = {"description": "Updated", **_without("availableUnits")}
    return _client(actors["merchant"]).patch(f"{API}/products/{actors['product'].id}", body, format="json"), 200


def _order(actors):
    body = {"productId": str(actors["product"].id), "paymentMethod": "WALLET", "quantity": 2, **HOSTILE}
    return _client(actors["user"]).post(f"{API}/orders", body, format="json"), 201


def _refund(actors):
    order = order_purchase(buyer=actors["user"], product_id=actors["product"].id, quantity=1, method="WALLET")
    return _client(actors["merchant"]).post(f"{API}/orders/{order.id}/refund", HOSTILE, format="json"), 200


WRITES = {
    "register": _register,
    "login": _login,
    "refresh": _refresh,
    "deposit": _deposit,
    "withdraw": _withdraw,
    "create product": _create_product,
    "patch product": _patch_product,
    "order": _order,
    "refund": _refund,
}

# What each write may change in the user's wallet and the product's stock.
EXPECTED = {
    "deposit": {"user_balance": D("105.00")},
    "withdraw": {"user_balance": D("95.00")},
    "order": {"user_balance": D("80.00"), "merchant_balance": D("120.00"), "stock": 8},
    "refund": {"stock": 10},
}


@pytest.mark.parametrize("write", WRITES)
def test_mass_assignment_changes_nothing_undocumented(actors, write):
    response, status = WRITES[write](actors)

    assert response.status_code == status, response.content
    body = json.dumps(response.json())
    assert HOSTILE["id"] not in body and "2000-01-01" not in body and "999999" not in body
    for account in User.objects.all():
        assert not account.is_staff and not account.is_superuser and account.is_active, account
    assert User.objects.get(id=actors["user"].id).role == Role.USER
    assert not User.objects.filter(id=HOSTILE["id"]).exists()
    expected = EXPECTED.get(write, {})
    assert Wallet.objects.get(user=actors["user"]).balance == expected.get("user_balance", D("100.00"))
    assert Wallet.objects.get(user=actors["merchant"]).balance == expected.get("merchant_balance", D("100.00"))
    product = Product.objects.get(id=actors["product"].id)
    assert (product.merchant_id, product.price, product.deleted_at) == (actors["merchant"].id, D("10.00"), None)
    assert product.available_units == expected.get("stock", 10)
    assert product.units_supplied == 10
    for order in Order.objects.all():
        assert (order.unit_price, order.currency, order.buyer_id) == (D("10.00"), "USD", actors["user"].id)
        assert order.total_amount == order.unit_price * order.quantity
        assert order.status == (OrderStatus.REFUNDED if write == "refund" else OrderStatus.COMPLETED)
    for created in Product.objects.exclude(id=actors["product"].id):
        assert (created.merchant_id, created.available_units, created.units_supplied) == (actors["merchant"].id, 4, 4)
    for wallet in Wallet.objects.filter(user__isnull=False):
        assert not wallet.is_frozen


# --- brute force ---------------------------------------------------------------------------------


def test_login_brute_force_is_stopped_before_20_attempts(api_client, settings):
    # The production default, whatever a local .env says; a cheap hasher keeps 20 attempts fast.
    settings.AUTH_THROTTLE_RATE = "10/min"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    User.objects.create_user("target@example.com", "violet-anchor-meadow-42")
    attacker = {"REMOTE_ADDR": "203.0.113.66"}

    statuses = [
        api_client.post(
            f"{API}/auth/login", {"email": "target@example.com", "password": f"guess-{n}"}, format="json", **attacker
        ).status_code
        for n in range(20)
    ]
    right_password = api_client.post(
        f"{API}/auth/login", {"email": "target@example.com", "password": "violet-anchor-meadow-42"}, **attacker
    )

    # Ten guesses a minute, then nothing: the 11th attempt is refused.
    assert statuses == [401] * 10 + [429] * 10
    # Once throttled, even the right password gets no answer about the account.
    assert right_password.status_code == 429
    assert 1 <= int(right_password["Retry-After"]) <= 60


# --- oversized and deeply nested bodies --------------------------------------------------------

BODY_ENDPOINTS = [
    ("post", "/auth/register"),
    ("post", "/auth/login"),
    ("post", "/auth/refresh"),
    ("post", "/auth/logout"),
    ("post", "/wallet/deposit"),
    ("post", "/wallet/withdraw"),
    ("post", "/products"),
    ("patch", "/products/{product}"),
    ("post", "/orders"),
    ("post", "/orders/{order}/refund"),
    ("post", "/payments/stripe/webhook"),
]

HOSTILE_BODIES = {
    "2 MB": (json.dumps({"amount": "5.00", "description": "x" * 2 * 1024 * 1024}), 413),
    "deep array": ("[" * 100_000 + "]" * 100_000, 400),
    "deep array below the parser's recursion limit": ("[" * 600 + "]" * 600, 400),
    "deep object": ('{"a":' * 600 + "1" + "}" * 600, 400),
}


@pytest.mark.parametrize("body", HOSTILE_BODIES)
@pytest.mark.parametrize(("method", "template"), BODY_ENDPOINTS)
def test_oversized_and_deep_bodies_are_refused_not_crashed(world, stripe_settings, method, template, body):
    payload, status = HOSTILE_BODIES[body]
    path = API + template.format(product=world["product_a"].id, order=world["order"].id)
    client = world["client"](world["merchant_a"])

    response = client.generic(method.upper(), path, payload, content_type="application/json")

    if template == "/payments/stripe/webhook" and status == 400:
        # The webhook reads the raw body: an unsigned one is refused for its signature.
        assert response.json()["code"] == "invalid_signature"
    else:
        assert response.status_code == status, response.content
        assert response.json()["code"] == ("request_too_large" if status == 413 else "validation_error")
    assert response["Content-Type"] == "application/problem+json"


def test_a_deep_body_with_an_idempotency_key_leaves_no_claim(world):
    client = world["client"](world["victim"])

    response = client.generic(
        "POST",
        f"{API}/wallet/deposit",
        "[" * 600 + "]" * 600,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="deep",
    )

    assert response.status_code == 400
    assert not IdempotencyKey.objects.filter(key="deep").exists()


# --- SQL meta-characters -------------------------------------------------------------------------

META = ["' OR 1=1 --", '"; DROP TABLE accounts_user; --', "%", "_", "\\", "\x00", "' UNION SELECT password FROM x--"]

QUERY_FIELDS = [
    ("/products", "search"),
    ("/products", "minPrice"),
    ("/products", "maxPrice"),
    ("/products", "merchantId"),
    ("/products", "inStock"),
    ("/products", "ordering"),
    ("/products", "page"),
    ("/products", "limit"),
    ("/orders", "status"),
    ("/orders/merchant/sales", "status"),
    ("/wallet/transactions", "type"),
]


def _table_sizes() -> tuple:
    return (
        User.objects.count(),
        Product.objects.count(),
        Order.objects.count(),
        Journal.objects.count(),
        LedgerEntry.objects.count(),
    )


@pytest.mark.parametrize("meta", META)
@pytest.mark.parametrize(("path", "field"), QUERY_FIELDS)
def test_sql_meta_characters_in_filters(world, path, field, meta):
    before = _table_sizes()

    response = world["client"](world["merchant_a"]).get(API + path, {field: meta})

    assert response.status_code in (200, 400, 404), response.content
    if response.status_code == 200:
        # Only `search` takes free text, and it matches literally: nothing contains these strings.
        assert response.json()["count"] == 0
    assert _table_sizes() == before


@pytest.mark.parametrize("meta", META)
@pytest.mark.parametrize("route", ["/products/{meta}", "/orders/{meta}", "/orders/{meta}/refund"])
def test_sql_meta_characters_in_ids(world, route, meta):
    before = _table_sizes()
    client = world["client"](world["merchant_a"])

    path = API + route.format(meta=quote(meta, safe=""))
    response = client.post(path) if path.endswith("/refund") else client.get(path)

    assert response.status_code == 404
    assert _table_sizes() == before


TEXT_FIELDS = {
    "register email": ("post", "/auth/register", "email", {"password": "violet-anchor-meadow-42"}),
    "register firstName": (
        "post",
        "/auth/register",
        "firstName",
        {"email": "first@example.com", "password": "violet-anchor-meadow-42"},
    ),
    "register lastName": (
        "post",
        "/auth/register",
        "lastName",
        {"email": "last@example.com", "password": "violet-anchor-meadow-42"},
    ),
    "register password": ("post", "/auth/register", "password", {"email": "pw@example.com"}),
    "login email": ("post", "/auth/login", "email", {"password": "whatever-it-is-42"}),
    "login password": ("post", "/auth/login", "password", {"email": "nobody@example.com"}),
    "refresh token": ("post", "/auth/refresh", "refreshToken", {}),
    "logout token": ("post", "/auth/logout", "refreshToken", {}),
    "deposit description": ("post", "/wallet/deposit", "description", {"amount": "1.00"}),
    "withdraw description": ("post", "/wallet/withdraw", "description", {"amount": "1.00"}),
    "deposit amount": ("post", "/wallet/deposit", "amount", {}),
    "product name": ("post", "/products", "name", {"price": "1.00", "availableUnits": 1}),
    "product description": ("post", "/products", "description", {"name": "n", "price": "1.00", "availableUnits": 1}),
    "product price": ("post", "/products", "price", {"name": "n", "availableUnits": 1}),
    "patched name": ("patch", "/products/{product}", "name", {}),
    "patched description": ("patch", "/products/{product}", "description", {}),
    "order productId": ("post", "/orders", "productId", {"paymentMethod": "WALLET"}),
    "order paymentMethod": ("post", "/orders", "paymentMethod", {"productId": "{product}"}),
}


@pytest.mark.parametrize("meta", META)
@pytest.mark.parametrize("field_case", TEXT_FIELDS)
def test_sql_meta_characters_in_body_fields(world, fast_auth, field_case, meta):
    method, template, field, rest = TEXT_FIELDS[field_case]
    product = world["product_b"]
    path = API + template.format(product=product.id)
    body = {key: str(value).format(product=product.id) for key, value in rest.items()} | {field: meta}
    before = _table_sizes()
    # merchant_b owns product_b and may buy product_a: every field is reachable by this caller.
    client = world["client"](world["merchant_b"])

    response = getattr(client, method)(path, body, format="json")

    assert response.status_code < 500, response.content
    if meta == "\x00":
        assert response.status_code == 400
    after = _table_sizes()
    if response.status_code >= 400:
        assert after == before
    else:
        # Accepted text is stored exactly as sent, never interpreted; nothing else was touched.
        assert field in ("firstName", "lastName", "password", "description", "name"), response.content
        if field != "password":
            assert response.json().get("user", response.json())[field] == meta
        assert all(now >= then for now, then in zip(after, before, strict=True))
        assert after[2] == before[2]  # no order appeared


@pytest.mark.parametrize("meta", META)
def test_sql_meta_characters_in_headers(world, meta):
    client = world["client"](world["victim"])

    response = client.post(
        f"{API}/wallet/deposit",
        {"amount": "1.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=meta,
        HTTP_X_REQUEST_ID=meta,
    )

    assert response.status_code in (201, 400), response.content
    # Echoed only when it is a sane id ("%" and "_"-like ones); anything else is replaced.
    assert response["X-Request-ID"] == meta if meta == "_" else re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    if response.status_code == 201:
        assert IdempotencyKey.objects.get(user=world["victim"]).key == meta


# --- response headers ----------------------------------------------------------------------------

HEADER_PATHS = {
    "API JSON": f"{API}/health",
    "problem+json": f"{API}/orders",
    "unknown API path": f"{API}/nowhere",
    "OpenAPI document": f"{API}/schema",
    "Swagger UI": f"{API}/docs",
    "operators' back office": "/admin/login/",
    "merchants' back office": "/merchant/login/",
}


@pytest.mark.parametrize("page", HEADER_PATHS)
def test_security_headers_on_every_kind_of_response(api_client, page):
    response = api_client.get(HEADER_PATHS[page])

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "X-Request-ID" in response
    # Plain http: no HSTS (a browser ignores it there), and no CORS: other origins cannot read answers.
    assert "Strict-Transport-Security" not in response
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize("page", HEADER_PATHS)
def test_hsts_when_served_over_https(api_client, settings, page):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True

    response = api_client.get(HEADER_PATHS[page], secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_plain_http_is_redirected_to_https_except_the_health_probe(api_client, settings):
    settings.SECURE_SSL_REDIRECT = True

    redirected = api_client.get(f"{API}/products")
    probe = api_client.get(f"{API}/health")

    assert redirected.status_code == 301
    assert redirected["Location"] == f"https://testserver{API}/products"
    assert probe.status_code == 200


def test_an_unknown_uuid_order_is_404_not_500(world):
    response = world["client"](world["victim"]).get(f"{API}/orders/{uuid.uuid4()}")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


# --- forwarded headers without a proxy in front ---------------------------------------------------


@pytest.mark.django_db
def test_a_client_cannot_claim_https_with_x_forwarded_proto_when_no_proxy_is_trusted(client, settings):
    # What settings.py derives from NUM_PROXIES=0 (test_settings checks the derivation).
    settings.SECURE_PROXY_SSL_HEADER = None
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/api/v1/products", HTTP_X_FORWARDED_PROTO="https")

    # Still plain http to the app: redirected to https, not served as if secure.
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
