"""Signed download links: minted with every delivery read, streamed, counted, refused with the API.md codes."""

import pytest
from django.core import signing
from django.test import Client

from accounts.tests.factories import UserFactory
from core.tests.threads import run_together
from delivery.links import SALT
from delivery.models import Delivery
from delivery.services.deliveries import delivery_revoke_by_operator
from delivery.tests.files import API, buy, put_file
from orders.services import order_refund

CONTENT = b"The whole album, losslessly. " * 500


@pytest.fixture
def order(merchant, auth_client, file_product):
    assert put_file(auth_client(merchant), file_product, CONTENT, name="Dawn chorus été.flac").status_code == 200
    return buy(UserFactory(), file_product)


def delivery_of(auth_client, order) -> dict:
    response = auth_client(order.buyer).get(f"{API}/orders/{order.id}/delivery")
    assert response.status_code == 200, response.content
    return response.json()


def download(url: str, **headers):
    # A plain client, no token: the link is the only credential.
    return Client().get(url.removeprefix("http://testserver"), **headers)


def downloads_used(order) -> int:
    return Delivery.objects.get(order_id=order.id).downloads_used


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


@pytest.mark.django_db
def test_the_delivery_offers_a_signed_absolute_link_that_downloads_the_file(auth_client, order):
    delivery = delivery_of(auth_client, order)

    assert (delivery["status"], delivery["codes"]) == ("DELIVERED", [])
    offered = delivery["download"]
    assert set(offered) == {"fileName", "size", "url", "expiresAt", "downloadsRemaining"}
    assert (offered["fileName"], offered["size"], offered["downloadsRemaining"]) == (
        "Dawn chorus été.flac",
        len(CONTENT),
        5,
    )
    assert offered["url"].startswith(f"http://testserver{API}/downloads/")
    # The link names the order and its expiry, never the file or where it is stored.
    assert "flac" not in offered["url"] and "products" not in offered["url"]

    response = download(offered["url"], HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
    assert response["Content-Length"] == str(len(CONTENT))
    assert response["Content-Disposition"] == (
        "attachment; filename=\"Dawn chorus ete.flac\"; filename*=utf-8''Dawn%20chorus%20%C3%A9t%C3%A9.flac"
    )
    assert downloads_used(order) == 1
    assert delivery_of(auth_client, order)["download"]["downloadsRemaining"] == 4


@pytest.mark.django_db
def test_a_head_request_is_refused_and_spends_no_download(auth_client, order):
    url = delivery_of(auth_client, order)["download"]["url"]

    response = Client().head(url.removeprefix("http://testserver"))

    assert response.status_code == 405
    assert downloads_used(order) == 0


@pytest.mark.django_db
def test_every_read_mints_a_fresh_link(settings, auth_client, order):
    first = delivery_of(auth_client, order)["download"]
    settings.DOWNLOAD_LINK_TTL_SECONDS = 3600

    second = delivery_of(auth_client, order)["download"]

    assert second["url"] != first["url"]
    assert second["expiresAt"] > first["expiresAt"]
    assert download(first["url"]).status_code == 200
    assert download(second["url"]).status_code == 200


@pytest.mark.django_db
def test_an_expired_link_is_410_and_not_counted(settings, auth_client, order):
    settings.DOWNLOAD_LINK_TTL_SECONDS = 0
    url = delivery_of(auth_client, order)["download"]["url"]

    assert_refused(download(url), 410, "link_expired")
    assert downloads_used(order) == 0


@pytest.mark.django_db
def test_past_the_limit_is_410_and_not_counted(settings, auth_client, order):
    settings.DOWNLOAD_LIMIT = 2
    url = delivery_of(auth_client, order)["download"]["url"]

    assert [download(url).status_code for _ in range(2)] == [200, 200]
    assert_refused(download(url), 410, "download_limit_reached")

    assert downloads_used(order) == 2
    assert delivery_of(auth_client, order)["download"]["downloadsRemaining"] == 0


@pytest.mark.django_db
def test_a_fully_refunded_order_is_410_entitlement_revoked(auth_client, order):
    url = delivery_of(auth_client, order)["download"]["url"]

    order_refund(order_id=order.id, actor=order.merchant, amount=None, reason="")

    assert_refused(download(url), 410, "entitlement_revoked")
    assert downloads_used(order) == 0
    assert delivery_of(auth_client, order) == {
        "orderId": str(order.id),
        "status": "REVOKED",
        "codes": [],
        "download": None,
    }


@pytest.mark.django_db
def test_an_entitlement_revoked_by_an_operator_is_410(auth_client, order, merchant):
    from backoffice.tests.factories import operator

    url = delivery_of(auth_client, order)["download"]["url"]
    delivery_revoke_by_operator(order_id=order.id, actor=operator(), reason="Chargeback")

    assert_refused(download(url), 410, "entitlement_revoked")


@pytest.mark.django_db
def test_a_partial_refund_keeps_the_download(auth_client, order):
    order_refund(order_id=order.id, actor=order.merchant, amount=order.total_amount / 2, reason="")

    assert download(delivery_of(auth_client, order)["download"]["url"]).status_code == 200


def tampered(url: str) -> list[str]:
    token = url.rsplit("/", 1)[1]
    payload, signature = token.rsplit(":", 1)
    order_id, expires = signing.loads(token, salt=SALT)
    base = url.rsplit("/", 1)[0]
    return [
        f"{base}/{payload}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{base}/{signing.dumps([order_id, expires + 3600], salt='another-salt')}",
        f"{base}/{signing.dumps([order_id, expires + 3600])}",
        f"{base}/{payload}",
        f"{base}/not-a-token",
    ]


@pytest.mark.django_db
def test_a_tampered_link_is_404_and_not_counted(auth_client, order):
    url = delivery_of(auth_client, order)["download"]["url"]

    for forged in tampered(url):
        assert_refused(download(forged), 404, "not_found")

    assert downloads_used(order) == 0


@pytest.mark.django_db
def test_a_link_signed_for_an_order_that_delivers_no_file_is_404(auth_client, order, product):
    other = buy(UserFactory(), product)
    url = delivery_of(auth_client, order)["download"]["url"]
    forged = url.rsplit("/", 1)[0] + "/" + signing.dumps([str(other.id), 2**40], salt=SALT)

    assert_refused(download(forged), 404, "not_found")


@pytest.mark.django_db
def test_a_link_minted_before_a_new_upload_downloads_the_new_file(merchant, auth_client, order, file_product):
    url = delivery_of(auth_client, order)["download"]["url"]

    put_file(auth_client(merchant), file_product, b"remastered")

    response = download(url)
    assert b"".join(response.streaming_content) == b"remastered"


@pytest.mark.django_db(transaction=True)
def test_concurrent_downloads_at_the_limit_succeed_exactly_as_often_as_allowed(settings, auth_client, order):
    settings.DOWNLOAD_LIMIT = 3
    url = delivery_of(auth_client, order)["download"]["url"]

    def attempt(_):
        response = download(url)
        if response.status_code == 200:
            assert b"".join(response.streaming_content) == CONTENT
            response.close()
        return response.status_code, response.json()["code"] if response.status_code != 200 else None

    results = run_together(10, attempt)

    assert sorted(results, key=str) == [(200, None)] * 3 + [(410, "download_limit_reached")] * 7
    assert downloads_used(order) == 3
