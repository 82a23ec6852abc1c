"""/merchant/: code pools (upload, list by hint with their orders, delete unused) and a FILE product's file."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import MerchantFactory
from backoffice.tests.factories import sale
from backoffice.tests.merchants.helpers import PRODUCTS, results
from catalog.models import DeliveryKind, Product
from catalog.tests.factories import ProductFactory
from delivery.models import Code, CodeStatus, ProductFile
from delivery.services.codes import codes_add

pytestmark = pytest.mark.django_db

CODES = "/merchant/delivery/code/"
UPLOAD = f"{CODES}upload/"


@pytest.fixture
def codes_product(merchant):
    return ProductFactory(merchant=merchant, delivery_kind=DeliveryKind.CODES, available_units=0, name="Gift cards")


@pytest.fixture(autouse=True)
def delivery_storage_dir(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "delivery": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    return tmp_path


def test_a_merchant_uploads_codes_as_text_and_as_csv(merchant_client, codes_product):
    text = merchant_client.post(UPLOAD, {"product": codes_product.id, "codes": "GIFT-0001\n  GIFT-0002 \n\nGIFT-0001"})
    csv_file = SimpleUploadedFile("codes.csv", b"\xef\xbb\xbfcode,value\nGIFT-0003,10\nGIFT-0002,10\n")
    from_csv = merchant_client.post(UPLOAD, {"product": codes_product.id, "file": csv_file}, follow=True)

    assert text.status_code == 302
    assert "added 1 code(s), skipped 1 duplicate(s); 3 available" in from_csv.content.decode()
    codes_product.refresh_from_db()
    assert codes_product.available_units == 3
    assert sorted(Code.objects.values_list("hint", flat=True)) == ["0001", "0002", "0003"]


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        pytest.param("", "1 to 1000 codes", id="none"),
        pytest.param("GOOD-1\nbad\u0007code", "Code 1: Codes are printable characters only.", id="non-printable"),
        pytest.param("X" * 256, "Code 0: Ensure", id="too long"),
        pytest.param("\n".join(f"C-{i}" for i in range(1001)), "1 to 1000 codes", id="too many"),
    ],
)
def test_bad_codes_are_refused_and_nothing_is_added(merchant_client, codes_product, codes, message):
    response = merchant_client.post(UPLOAD, {"product": codes_product.id, "codes": codes})

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].non_field_errors())
    assert not Code.objects.exists()


def test_only_the_merchants_own_codes_products_can_take_codes(merchant, merchant_client, codes_product, rival):
    rivals = ProductFactory(merchant=rival, delivery_kind=DeliveryKind.CODES, available_units=0)
    file_product = ProductFactory(merchant=merchant, delivery_kind=DeliveryKind.FILE)

    choices = list(merchant_client.get(UPLOAD).context["form"].fields["product"].queryset)
    refused = merchant_client.post(UPLOAD, {"product": rivals.id, "codes": "GIFT-1"})

    assert choices == [codes_product]
    assert "product" in refused.context["form"].errors
    assert merchant_client.post(UPLOAD, {"product": file_product.id, "codes": "GIFT-1"}).context["form"].errors
    assert not Code.objects.exists()


def test_the_codes_list_shows_hints_and_orders_never_the_codes(merchant, merchant_client, codes_product, rival):
    codes_add(product_id=codes_product.id, merchant=merchant, codes=["SECRET-AAAA-1111", "SECRET-BBBB-2222"])
    order = sale(codes_product)
    rival_product = ProductFactory(merchant=rival, delivery_kind=DeliveryKind.CODES, available_units=0)
    codes_add(product_id=rival_product.id, merchant=rival, codes=["RIVAL-CODE-9999"])

    response = merchant_client.get(CODES)

    listed = results(response)
    assert {code.product_id for code in listed} == {codes_product.id}
    page = response.content.decode()
    assert "SECRET" not in page and "RIVAL" not in page
    assert "…1111" in page and "…2222" in page
    assert f"/merchant/orders/order/{order.id}/change/" in page
    assert merchant_client.get(f"{CODES}{listed[0].id}/change/").status_code == 200
    assert merchant_client.get(f"{CODES}{Code.objects.get(product=rival_product).id}/change/").status_code == 404


def test_a_merchant_deletes_unused_codes_only(merchant, merchant_client, codes_product):
    codes_add(product_id=codes_product.id, merchant=merchant, codes=["GIFT-0001", "GIFT-0002", "GIFT-0003"])
    sale(codes_product)
    delivered = Code.objects.get(status=CodeStatus.DELIVERED)

    response = merchant_client.post(
        CODES,
        {"action": "delete_unused", "_selected_action": [str(code.id) for code in Code.objects.all()]},
        follow=True,
    )

    page = response.content.decode()
    assert "Deleted 2 unused code(s)." in page
    assert f"…{delivered.hint}" in page
    codes_product.refresh_from_db()
    assert codes_product.available_units == 0
    assert Code.objects.filter(deleted_at__isnull=True).get() == delivered


# --- the file of a FILE product ---------------------------------------------------------


def file_page(product) -> str:
    return f"{PRODUCTS}{product.id}/file/"


def test_a_merchant_uploads_and_replaces_a_products_file(merchant, merchant_client, delivery_storage_dir):
    product = ProductFactory(merchant=merchant, delivery_kind=DeliveryKind.FILE)
    assert "none yet" in merchant_client.get(file_page(product)).content.decode()

    first = merchant_client.post(file_page(product), {"file": SimpleUploadedFile("v1.zip", b"version one")})
    second = merchant_client.post(
        file_page(product), {"file": SimpleUploadedFile("v2.zip", b"version two")}, follow=True
    )

    assert first.status_code == 302
    page = second.content.decode()
    assert "the file is now v2.zip" in page
    product_file = ProductFile.objects.get(product=product)
    assert (product_file.file_name, product_file.size) == ("v2.zip", 11)
    assert product_file.sha256 in page
    assert "v2.zip" in merchant_client.get(f"{PRODUCTS}{product.id}/change/").content.decode()


def test_an_oversized_or_empty_file_is_a_form_error(settings, merchant, merchant_client, delivery_storage_dir):
    settings.DELIVERY_MAX_FILE_BYTES = 8
    product = ProductFactory(merchant=merchant, delivery_kind=DeliveryKind.FILE)

    too_large = merchant_client.post(file_page(product), {"file": SimpleUploadedFile("big.zip", b"123456789")})
    empty = merchant_client.post(file_page(product), {"file": SimpleUploadedFile("empty.zip", b"")})

    assert "larger than 8 bytes" in " ".join(too_large.context["form"].errors["file"])
    assert empty.context["form"].errors["file"]
    assert not ProductFile.objects.exists()
    assert list(delivery_storage_dir.rglob("*.*")) == []


def test_the_upload_form_still_checks_csrf(merchant):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(merchant)
    product = ProductFactory(merchant=merchant, delivery_kind=DeliveryKind.FILE)

    response = client.post(file_page(product), {"file": SimpleUploadedFile("v1.zip", b"data")})

    assert response.status_code == 403
    assert not ProductFile.objects.exists()


def test_no_file_page_for_other_products(merchant, merchant_client, rival):
    assert merchant_client.get(file_page(ProductFactory(merchant=merchant))).status_code == 404
    assert merchant_client.get(file_page(Product.objects.get(merchant=rival))).status_code in (403, 404)
    other = ProductFactory(merchant=MerchantFactory(), delivery_kind=DeliveryKind.FILE)
    assert merchant_client.post(file_page(other), {"file": SimpleUploadedFile("x.zip", b"x")}).status_code == 403
    assert not ProductFile.objects.exists()


def test_a_codes_product_is_created_with_no_stock_and_keeps_its_stock_read_only(merchant, merchant_client):
    refused = merchant_client.post(
        f"{PRODUCTS}add/",
        {"name": "Keys", "description": "", "price": "5.00", "available_units": "3", "delivery_kind": "CODES"},
    )
    created = merchant_client.post(
        f"{PRODUCTS}add/",
        {"name": "Keys", "description": "", "price": "5.00", "available_units": "0", "delivery_kind": "CODES"},
    )

    assert "available_units" in refused.context["adminform"].form.errors
    assert created.status_code == 302
    product = Product.objects.get(name="Keys")
    assert product.delivery_kind == DeliveryKind.CODES
    change = merchant_client.get(f"{PRODUCTS}{product.id}/change/")
    assert "available_units" not in change.context["adminform"].form.fields
    assert "upload codes" in change.content.decode()
