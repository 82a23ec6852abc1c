"""A product file of DELIVERY_MAX_FILE_BYTES (100 MB) through a real HTTP server, never whole in memory."""

import hashlib
import http.client
import tracemalloc
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from accounts.services import token_pair_for
from delivery.models import ProductFile

MB = 1024 * 1024
CHUNK = bytes(range(256)) * 256  # 64 KiB


@pytest.mark.django_db(transaction=True)
def test_a_100_mb_file_passes_the_1_mb_body_limit_and_streams_to_storage(
    live_server, merchant, file_product, delivery_storage_dir
):
    # The defaults: a 1 MB limit on bodies (non-file fields of a multipart body), 100 MB on files.
    assert (settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.DELIVERY_MAX_FILE_BYTES) == (MB, 100 * MB)
    boundary = "pf-upload-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="archive.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    chunks = settings.DELIVERY_MAX_FILE_BYTES // len(CHUNK)
    expected = hashlib.sha256()
    for _ in range(chunks):
        expected.update(CHUNK)

    def body():
        yield head
        for _ in range(chunks):
            yield CHUNK
        yield tail

    server = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(server.hostname, server.port, timeout=300)
    token = token_pair_for(user=merchant).access
    # One request first, so that the modules a first request imports are not counted as the upload's.
    connection.request("GET", f"/api/v1/products/{file_product.id}/file", headers={"Authorization": f"Bearer {token}"})
    assert connection.getresponse().read()
    tracemalloc.start()
    try:
        connection.request(
            "PUT",
            f"/api/v1/products/{file_product.id}/file",
            body=body(),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + chunks * len(CHUNK) + len(tail)),
            },
        )
        response = connection.getresponse()
        payload = response.read()
        # Client and server share this process: the peak covers both sides of the upload.
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        connection.close()

    assert response.status == 200, payload
    product_file = ProductFile.objects.get(product=file_product)
    assert (product_file.size, product_file.sha256) == (100 * MB, expected.hexdigest())
    assert (delivery_storage_dir / product_file.storage_name).stat().st_size == 100 * MB
    assert peak < 5 * MB, f"the upload held {peak / MB:.1f} MB in memory at its peak"
