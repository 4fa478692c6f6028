"""Upload size limits enforced while the request body streams in, so an oversize file is
refused without first being written to disk in full. Views that receive a file use
`limit_upload` (API views install `limit_upload_size` themselves, before DRF reads)."""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from mlprojects.site.limits import MULTIPART_OVERHEAD_BYTES, body_limit


class UploadTooLarge(Exception):
    """A file over its endpoint's limit; the message names the setting that holds it."""

    def __init__(self, max_bytes: int, setting: str = "") -> None:
        message = f"The file is larger than the limit of {human_bytes(max_bytes)}."
        if setting:
            message += f" The limit is the setting {setting}."
        super().__init__(message)
        self.max_bytes = max_bytes
        self.setting = setting


#: The names a data file may have: what the content is read as (`detect_format`) must be
#: what the name promises, so a `.txt` or `.xlsx` that happens to hold commas is refused.
DATA_FILE_EXTENSIONS = (".csv", ".csv.gz", ".parquet")


def check_data_filename(name: str | None, field: str = "file") -> None:
    """ValidationError on `field` unless `name` ends in an accepted data-file extension.
    A file sent without a name (raw bytes over the API) is judged by its content alone."""
    if not name:
        return
    if not name.lower().endswith(DATA_FILE_EXTENSIONS):
        raise ValidationError(
            {
                field: f"“{name[-80:]}” is not a data file: upload a .csv, .csv.gz or .parquet "
                "file (save a spreadsheet or text file as CSV first)."
            }
        )


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

    def __init__(
        self, request: HttpRequest | None = None, *, max_bytes: int, setting: str = ""
    ) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.setting = setting
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.max_bytes + MULTIPART_OVERHEAD_BYTES:
            raise UploadTooLarge(self.max_bytes, self.setting)

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            raise UploadTooLarge(self.max_bytes, self.setting)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def limit_upload_size(request: HttpRequest, max_bytes: int, setting: str = "") -> None:
    """Put the size check in front of the request's upload handlers."""
    request.upload_handlers.insert(
        0, MaxSizeUploadHandler(request, max_bytes=max_bytes, setting=setting)
    )


def limit_upload(
    max_bytes: Callable[[], int] | str, too_large: Callable[..., HttpResponse]
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a view that receives a file: a file over `max_bytes` (the name of the
    setting that holds the limit, or a function giving it) is refused while the body
    streams in, and the view answers `too_large(request, error, **url_arguments)` instead
    (a 413 page that shows the error inline).

    The limit must be installed before anything reads the body, and the CSRF check reads
    it; so the view is exempt from the middleware's check and runs the same check itself
    once the limit is in place."""

    setting = max_bytes if isinstance(max_bytes, str) else ""

    def limit() -> int:
        return getattr(settings, setting) if setting else max_bytes()

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        checked_view = csrf_protect(view)

        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            limit_upload_size(request, limit(), setting)
            try:
                return checked_view(request, *args, **kwargs)
            except UploadTooLarge as exc:
                return too_large(request, exc, *args, **kwargs)

        return body_limit(setting)(wrapped) if setting else wrapped

    return decorator
