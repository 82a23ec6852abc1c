"""API fuzzing: schemathesis against the app's own OpenAPI document, on a live server.

Every operation of `/api/v1/schema` is fuzzed with schema-valid (positive) and
schema-violating (negative) requests, authenticated as a USER and as a
MERCHANT, each with a funded wallet, a product to buy and an order of its own
(a merchant also has a product and a sale), with Stripe (localstripe)
configured. Some of the valid requests aim at those real ids, so the happy
paths run too, not only 404s on random UUIDs. Every response is checked by all
of schemathesis' checks: no 5xx, the status code is documented, the body
matches the documented schema and content type, documented headers are
present, authentication is enforced where declared, and schema-violating
input is rejected with a 4xx.

One check is off: `positive_data_acceptance` (a schema-valid request must not
get a 4xx other than 401/403/404/409). The API answers some business rules that
no schema can express with 400: a deposit above MAXIMUM_DEPOSIT
(`amount_above_maximum`), a withdrawal below MINIMUM_WITHDRAWAL, a weak or
common password, buying one's own product.

Bounded and reproducible: `derandomize`, EXAMPLES per operation and mode, no
shrinking (a failure is reported with the request that caused it, as a curl
command).
"""

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from accounts.services import token_pair_for
from accounts.tests.factories import MerchantFactory, UserFactory
from catalog.tests.factories import ProductFactory
from notifications.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from orders.services import order_purchase
from wallets.tests.factories import fund_wallet

SCHEMA_PATH = "/api/v1/schema?format=json"
EXAMPLES = 20
# Every operation of the API; the fuzzer must reach each (a schema that loads empty proves nothing).
OPERATION_COUNT = 42

# Writes that could take the seeded objects away from later operations run last.
METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}


def _world(role: str) -> dict:
    """Seed the caller and what it can act on; return the caller's token and the ids worth aiming at."""
    caller = MerchantFactory() if role == "merchant" else UserFactory()
    seller = MerchantFactory()
    for account in (caller, seller):
        fund_wallet(account, "5000.00")
    on_sale = ProductFactory(merchant=seller, available_units=1000)
    purchase = order_purchase(buyer=caller, product_id=on_sale.id, quantity=1, method="WALLET")
    product_ids, order_ids = [on_sale.id], [purchase.id]
    if role == "merchant":
        own = ProductFactory(merchant=caller, available_units=1000)
        sale = order_purchase(buyer=seller, product_id=own.id, quantity=1, method="WALLET")
        product_ids.append(own.id)
        order_ids.append(sale.id)
        # A webhook endpoint with a delivery, for the /webhook-endpoints/{id} operations.
        order_ids.append(WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(merchant=caller)).endpoint_id)
    return {
        "token": token_pair_for(user=caller).access,
        "product_ids": [str(pk) for pk in product_ids],
        "ids": [str(pk) for pk in product_ids + order_ids],
    }


def _config(token: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            # Applied only where the operation declares jwtAuth, and left off when a
            # negative case drops the credentials on purpose (then a 401 is expected).
            "auth": {"openapi": {"jwtAuth": {"bearer": token}}},
            "checks": {"positive_data_acceptance": {"enabled": False}},
        }
    )


def _aim_at_real_objects(case, draw, world: dict) -> None:
    """Point most schema-valid cases at seeded objects (ids in the path and the body)."""
    if not draw(st.sampled_from([True, True, False])):
        return
    if case.path_parameters and "id" in case.path_parameters:
        case.path_parameters["id"] = draw(st.sampled_from(world["ids"]))
    if isinstance(case.body, dict) and "productId" in case.body:
        case.body["productId"] = draw(st.sampled_from(world["product_ids"]))


def _fuzz(operation, mode: GenerationMode, *, base_url: str, world: dict) -> str | None:
    """Run EXAMPLES cases of one operation in one mode; return the failure report, if any."""

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case, data):
        if mode == GenerationMode.POSITIVE:
            _aim_at_real_objects(case, data.draw, world)
        case.call_and_validate(base_url=base_url)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # Nothing to negate (GET /health has no parameters, body or credentials).
        return None
    except (Exception, BaseExceptionGroup) as exc:
        return f"{operation.label} [{mode.value}]\n{exc}"
    return None


@pytest.mark.parametrize("role", ["user", "merchant"])
def test_every_operation_survives_fuzzing(live_server, stripe_settings, role):
    # Register and login are fuzzed, not rate-limited, and hashed fast: this is about the contract.
    stripe_settings.AUTH_THROTTLE_RATE = "100000/min"
    stripe_settings.LICENSE_THROTTLE_RATE = "100000/min"
    stripe_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = _world(role)
    schema = schemathesis.openapi.from_url(f"{live_server.url}{SCHEMA_PATH}", config=_config(world["token"]))
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda operation: (METHOD_ORDER.get(operation.method.upper(), 1), operation.path),
    )
    assert len(operations) == OPERATION_COUNT, [operation.label for operation in operations]

    failures = [
        report
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (report := _fuzz(operation, mode, base_url=live_server.url, world=world))
    ]

    assert not failures, "\n\n".join(failures)
