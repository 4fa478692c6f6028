"""Upload size limits enforced while the request body streams in, so an oversize file is
refused without first being written to disk in full."""

from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest

# Room for the multipart boundaries and the small form fields next to the file.
MULTIPART_OVERHEAD_BYTES = 1 << 20


class UploadTooLarge(Exception):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"The file is larger than the limit of {human_bytes(max_bytes)}.")
        self.max_bytes = max_bytes


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


class MaxSizeUploadHandler(FileUploadHandler):
    """First in the handler chain: passes chunks on to Django's handlers (memory, then a
    temporary file) and raises `UploadTooLarge` as soon as a file or the whole body is over
    the limit. Install it before anything reads the body (see `limit_upload_size`)."""

    def __init__(self, request: HttpRequest | None = None, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.max_bytes + MULTIPART_OVERHEAD_BYTES:
            raise UploadTooLarge(self.max_bytes)

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            raise UploadTooLarge(self.max_bytes)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def limit_upload_size(request: HttpRequest, max_bytes: int) -> None:
    """Put the size check in front of the request's upload handlers."""
    request.upload_handlers.insert(0, MaxSizeUploadHandler(request, max_bytes=max_bytes))
