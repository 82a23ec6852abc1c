"""PUT/GET /products/{id}/file: the merchant's upload, streamed and hashed, replacing the file for everyone."""

import pytest
from django.db import connection

from accounts.tests.factories import MerchantFactory
from catalog.models import DeliveryKind
from catalog.tests.factories import ProductFactory
from delivery.models import ProductFile
from delivery.tests.files import file_url, put_file, sha256, stored_files

pytestmark = pytest.mark.django_db

CONTENT = b"RIFF....WAVEfmt " + bytes(range(256)) * 40


def test_the_merchant_uploads_the_file_and_reads_it_back(merchant, auth_client, file_product, delivery_storage_dir):
    client = auth_client(merchant)

    response = put_file(client, file_product, CONTENT, name="Dawn chorus.wav")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"fileName", "size", "sha256", "uploadedAt"}
    assert (body["fileName"], body["size"], body["sha256"]) == ("Dawn chorus.wav", len(CONTENT), sha256(CONTENT))
    product_file = ProductFile.objects.get(product=file_product)
    assert (delivery_storage_dir / product_file.storage_name).read_bytes() == CONTENT
    # The storage name is ours, never the uploader's file name.
    assert "Dawn" not in product_file.storage_name
    assert client.get(file_url(file_product)).json() == body


def test_a_new_upload_replaces_the_file_and_deletes_the_old_one_after_commit(
    merchant, auth_client, file_product, delivery_storage_dir, django_capture_on_commit_callbacks
):
    client = auth_client(merchant)
    put_file(client, file_product, b"first version")
    first = ProductFile.objects.get(product=file_product)

    with django_capture_on_commit_callbacks(execute=True):
        response = put_file(client, file_product, b"second version", name="v2.zip")

    assert response.json()["sha256"] == sha256(b"second version")
    second = ProductFile.objects.get(product=file_product)
    assert (second.id, second.file_name, second.size) == (first.id, "v2.zip", len(b"second version"))
    assert stored_files(delivery_storage_dir) == [second.storage_name]


def test_a_file_at_the_limit_is_taken_one_byte_more_is_413_and_leaves_nothing(
    settings, merchant, auth_client, file_product, delivery_storage_dir
):
    settings.DELIVERY_MAX_FILE_BYTES = 1024
    client = auth_client(merchant)

    too_large = put_file(client, file_product, b"x" * 1025)

    assert too_large.status_code == 413
    assert too_large["Content-Type"] == "application/problem+json"
    assert too_large.json()["code"] == "request_too_large"
    assert not ProductFile.objects.exists()
    assert stored_files(delivery_storage_dir) == []
    assert stored_files(delivery_storage_dir.parent / "uploads") == []
    assert put_file(client, file_product, b"x" * 1024).status_code == 200


def test_an_oversized_upload_keeps_the_previous_file(settings, merchant, auth_client, file_product):
    client = auth_client(merchant)
    put_file(client, file_product, CONTENT)
    settings.DELIVERY_MAX_FILE_BYTES = 10

    assert put_file(client, file_product, b"a much longer file").status_code == 413

    assert client.get(file_url(file_product)).json()["sha256"] == sha256(CONTENT)


@pytest.mark.parametrize("kind", [DeliveryKind.NONE, DeliveryKind.CODES])
def test_a_file_for_a_product_that_is_not_file_is_409_and_stores_nothing(
    merchant, auth_client, delivery_storage_dir, kind
):
    product = ProductFactory(merchant=merchant, delivery_kind=kind, available_units=0)

    response = put_file(auth_client(merchant), product, CONTENT)

    assert response.status_code == 409
    assert response.json()["code"] == "delivery_kind_mismatch"
    assert auth_client(merchant).get(file_url(product)).json()["code"] == "delivery_kind_mismatch"
    assert stored_files(delivery_storage_dir) == []
    assert stored_files(delivery_storage_dir.parent / "uploads") == []


def test_only_the_owner_merchant_may_upload(user, auth_client, api_client, file_product, delivery_storage_dir):
    rival = MerchantFactory()

    assert put_file(auth_client(rival), file_product, CONTENT).json()["code"] == "permission_denied"
    assert put_file(auth_client(user), file_product, CONTENT).json()["code"] == "permission_denied"
    assert put_file(api_client, file_product, CONTENT).json()["code"] == "not_authenticated"
    assert auth_client(rival).get(file_url(file_product)).status_code == 403
    assert stored_files(delivery_storage_dir) == []


def test_a_deleted_or_unknown_product_is_404(merchant, auth_client, file_product):
    client = auth_client(merchant)
    file_product.deleted_at = file_product.created_at
    file_product.save()

    assert put_file(client, file_product, CONTENT).json()["code"] == "not_found"
    assert client.get(f"/api/v1/products/{merchant.id}/file").json()["code"] == "not_found"


def test_no_file_yet_is_404(merchant, auth_client, file_product):
    response = auth_client(merchant).get(file_url(file_product))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({}, id="no file field"),
        pytest.param({"document": "not a file"}, id="another field"),
    ],
)
def test_a_body_without_the_file_field_is_400(merchant, auth_client, file_product, data):
    response = auth_client(merchant).put(file_url(file_product), data, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "file" in response.json()["errors"]


def test_an_empty_file_is_400(merchant, auth_client, file_product, delivery_storage_dir):
    response = put_file(auth_client(merchant), file_product, b"")

    assert response.status_code == 400
    assert response.json()["errors"]["file"]
    assert stored_files(delivery_storage_dir) == []


def test_a_json_body_is_415(merchant, auth_client, file_product):
    response = auth_client(merchant).put(file_url(file_product), {"file": "aGVsbG8="}, format="json")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_only_the_first_file_part_is_taken(merchant, auth_client, file_product, delivery_storage_dir):
    from django.core.files.uploadedfile import SimpleUploadedFile

    files = [SimpleUploadedFile("one.bin", b"first"), SimpleUploadedFile("two.bin", b"second")]
    response = auth_client(merchant).put(file_url(file_product), {"file": files}, format="multipart")

    assert response.json()["fileName"] == "one.bin"
    assert len(stored_files(delivery_storage_dir)) == 1


def test_a_failed_write_deletes_the_new_object(merchant, auth_client, file_product, delivery_storage_dir):
    # A trigger that refuses the file row stands in for any failure of the locked write:
    # the bytes were stored before the transaction, and are deleted with its failure.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pf_refuse_row() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ "
            "LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER pf_refuse_row BEFORE INSERT ON delivery_productfile "
            "FOR EACH ROW EXECUTE FUNCTION pf_refuse_row()"
        )

    response = put_file(auth_client(merchant), file_product, CONTENT)

    assert response.status_code == 500
    assert not ProductFile.objects.exists()
    assert stored_files(delivery_storage_dir) == []
