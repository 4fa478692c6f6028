"""Reading stored files without copying them whole.

`open_stored(name)` gives a seekable binary file object over a file of the default storage.
On the local filesystem that is the file itself. On S3 it reads by HTTP range requests:
sequential reads stream one response body, a seek (Parquet reads its footer first, the
CSV sniffer rewinds) starts a new range at the new position, and only a small buffer is
ever in memory. django-storages' own `S3File` would download the whole object into a
temporary file on the first read."""

import io
from typing import Any, BinaryIO

from django.core.files.storage import Storage, default_storage

# Read-ahead of the buffered reader: large enough that a CSV parser's 2 MB blocks or a
# Parquet column chunk are a handful of network reads, small enough to stay negligible.
READ_BUFFER_BYTES = 8 * 1024 * 1024


class RangedObjectReader(io.RawIOBase):
    """A read-only, seekable raw stream over one S3 object (a boto3 `Object`)."""

    def __init__(self, obj: Any, size: int) -> None:
        super().__init__()
        self._obj = obj
        self._size = size
        self._pos = 0
        self._body: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError("negative seek position")
        if position != self._pos:
            self._drop_body()
            self._pos = position
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self._size or not len(buffer):
            return 0
        for attempt in range(2):
            if self._body is None:
                response = self._obj.get(Range=f"bytes={self._pos}-")
                self._body = response["Body"]
            data = self._body.read(len(buffer))
            if data:
                break
            # The connection ended before the object did: resume once from here.
            self._drop_body()
            if attempt:
                raise OSError(f"The stored file ended early at byte {self._pos}.")
        n = len(data)
        memoryview(buffer).cast("B")[:n] = data
        self._pos += n
        return n

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()


def is_s3(storage: Storage) -> bool:
    return hasattr(storage, "bucket") and hasattr(storage, "_normalize_name")


def open_stored(name: str, storage: Storage | None = None) -> BinaryIO:
    """A seekable binary file object over the stored file `name` (close it when done).
    Raises FileNotFoundError when it is not stored."""
    storage = storage or default_storage
    stored = storage.open(name, "rb")
    if not is_s3(storage):
        return stored
    # S3File has checked that the object exists (HEAD) and knows its size; the content
    # is read by ranges instead of through S3File's whole-object download.
    obj = stored.obj
    reader = RangedObjectReader(obj, obj.content_length)
    return io.BufferedReader(reader, buffer_size=READ_BUFFER_BYTES)
