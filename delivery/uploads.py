"""Receiving a product file: streamed to a temporary file as it arrives, hashed and counted on the way.

Django's default handlers keep an upload below FILE_UPLOAD_MAX_MEMORY_SIZE in
memory and know nothing of DELIVERY_MAX_FILE_BYTES (DATA_UPLOAD_MAX_MEMORY_SIZE
counts only the non-file fields of a multipart body). The handler here is the
only one a file upload runs with (the API's `PUT /products/{id}/file` and the
merchants' upload form): every chunk goes to a temporary file and into a
sha256, the first byte past the limit stops the upload, and the temporary file
is the one the storage then moves or copies, so the bytes are never read
whole into memory and never read twice.
"""

import hashlib

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest

from delivery.exceptions import FileTooLarge

FILE_FIELD = "file"


class HashedUpload(TemporaryUploadedFile):
    """An uploaded file on disk that knows the sha256 of its bytes."""

    sha256: str


class ProductFileUploadHandler(TemporaryFileUploadHandler):
    """Take the `file` field only, to disk, hashing it; stop at the first byte above `max_bytes`."""

    def __init__(self, request=None, *, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.too_large = False
        self._taken = False

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        # One file per request: any other file part is skipped (read and dropped, never stored).
        if field_name != FILE_FIELD or self._taken:
            raise SkipFile()
        self._taken = True
        # The base class's bookkeeping, then a HashedUpload where TemporaryFileUploadHandler makes its file.
        FileUploadHandler.new_file(
            self, field_name, file_name, content_type, content_length, charset, content_type_extra
        )
        self.file = HashedUpload(file_name, content_type, 0, charset, content_type_extra)
        self._sha256 = hashlib.sha256()
        self._received = 0

    def receive_data_chunk(self, raw_data, start):
        self._received += len(raw_data)
        if self._received > self.max_bytes:
            self.too_large = True
            # connection_reset: stop reading the body at once (a 413 needs no more of it);
            # the parser closes, and so deletes, the temporary file.
            raise StopUpload(connection_reset=True)
        self._sha256.update(raw_data)
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size):
        upload = super().file_complete(file_size)
        upload.sha256 = self._sha256.hexdigest()
        # The parser closes (and so deletes) whatever a handler still holds as `file` when it
        # skips a later part: the finished upload is the request's now, no longer the handler's.
        del self.file
        return upload

    def received_file(self, files) -> HashedUpload | None:
        """Return the `file` field of the parsed `files`, or raise `FileTooLarge` if the upload was stopped."""
        if self.too_large:
            raise FileTooLarge(f"The file is larger than {self.max_bytes} bytes.")
        return files.get(FILE_FIELD)


def product_file_upload_handler(request: HttpRequest) -> ProductFileUploadHandler:
    """Make `request` parse its body with the product file handler; call before anything reads POST or FILES."""
    handler = ProductFileUploadHandler(request, max_bytes=settings.DELIVERY_MAX_FILE_BYTES)
    request.upload_handlers = [handler]
    return handler
