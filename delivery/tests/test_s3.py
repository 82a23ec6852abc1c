"""Product files in an S3-compatible bucket: moto's S3 server on loopback stands in for the bucket.

The same flows as on the filesystem, through django-storages and boto3 over
real HTTP: the upload lands in the bucket, a download link answers a 302 to
the bucket's presigned URL (counted like a streamed download), and a new file
deletes the old object.
"""

import urllib.request

import boto3
import pytest
from moto.server import ThreadedMotoServer

from accounts.tests.factories import UserFactory
from delivery.models import Delivery, ProductFile
from delivery.tests.files import API, buy, put_file, sha256
from paymentflow.tests.servers import free_port

BUCKET = "product-files"


@pytest.fixture
def bucket(settings, monkeypatch):
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "delivery": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "location": "delivery",
                "addressing_style": "path",
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": 300,
                "signature_version": "s3v4",
                "file_overwrite": False,
            },
        },
    }
    yield client
    server.stop()


def keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.mark.django_db
def test_an_uploaded_file_lands_in_the_bucket_and_replaces_the_old_object(
    bucket, merchant, auth_client, file_product, django_capture_on_commit_callbacks
):
    client = auth_client(merchant)
    put_file(client, file_product, b"first cut")

    with django_capture_on_commit_callbacks(execute=True):
        response = put_file(client, file_product, b"final cut")

    assert response.json()["sha256"] == sha256(b"final cut")
    stored = ProductFile.objects.get(product=file_product)
    assert keys(bucket) == [f"delivery/{stored.storage_name}"]
    assert bucket.get_object(Bucket=BUCKET, Key=f"delivery/{stored.storage_name}")["Body"].read() == b"final cut"


@pytest.mark.django_db
def test_a_download_redirects_to_the_buckets_presigned_url_and_counts(bucket, merchant, auth_client, file_product):
    put_file(auth_client(merchant), file_product, b"the whole film", name="film.mkv")
    order = buy(UserFactory(), file_product)
    link = auth_client(order.buyer).get(f"{API}/orders/{order.id}/delivery").json()["download"]["url"]

    response = auth_client(order.buyer).get(link.removeprefix("http://testserver"))

    assert response.status_code == 302
    presigned = response["Location"]
    assert presigned.startswith(f"{bucket.meta.endpoint_url}/{BUCKET}/delivery/products/")
    assert "X-Amz-Signature=" in presigned and "X-Amz-Expires=300" in presigned
    with urllib.request.urlopen(presigned, timeout=10) as served:  # noqa: S310 (the bucket's http URL, loopback)
        assert served.read() == b"the whole film"
        assert served.headers["Content-Disposition"] == 'attachment; filename="film.mkv"'
    assert Delivery.objects.get(order_id=order.id).downloads_used == 1
