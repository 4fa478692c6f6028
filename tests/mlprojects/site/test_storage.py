"""Object storage: the backend chosen by the environment, and every upload and every
worker read going through an S3-compatible server (a real moto server process)."""

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile

from mlprojects.settings.storage import FILE_BACKEND, S3_BACKEND, default_storage_backend
from mlprojects.site.storage import RangedObjectReader, open_stored

# -- choosing the backend ---------------------------------------------------------------------


def test_local_files_are_the_default():
    assert default_storage_backend({}) == {"BACKEND": FILE_BACKEND}
    assert default_storage_backend({"STORAGE_URL": "file://"}) == {"BACKEND": FILE_BACKEND}


def test_a_storage_url_selects_a_bucket_with_its_endpoint_region_and_prefix():
    backend = default_storage_backend(
        {"STORAGE_URL": "s3://files/prod/eu?endpoint_url=http://minio:9000&region=eu-west-1"}
    )
    assert backend["BACKEND"] == S3_BACKEND
    options = backend["OPTIONS"]
    assert options["bucket_name"] == "files"
    assert options["location"] == "prod/eu"
    assert options["endpoint_url"] == "http://minio:9000"
    assert options["region_name"] == "eu-west-1"
    assert options["file_overwrite"] is False
    assert options["default_acl"] is None


def test_the_aws_variables_alone_select_a_bucket_and_complete_a_url():
    alone = default_storage_backend(
        {"AWS_STORAGE_BUCKET_NAME": "files", "AWS_S3_ENDPOINT_URL": "https://s3.example"}
    )
    assert alone["OPTIONS"]["bucket_name"] == "files"
    assert alone["OPTIONS"]["endpoint_url"] == "https://s3.example"
    both = default_storage_backend(
        {"STORAGE_URL": "s3://files", "AWS_S3_REGION_NAME": "eu-central-1"}
    )
    assert both["OPTIONS"]["region_name"] == "eu-central-1"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"STORAGE_URL": "gs://files"}, "scheme 'gs' is not supported"),
        ({"STORAGE_URL": "s3://key:secret@files"}, "must not hold credentials"),
        ({"STORAGE_URL": "s3://"}, "names no bucket"),
        ({"STORAGE_URL": "s3://files?acl=public"}, "option 'acl' is unknown"),
        ({"STORAGE_URL": "s3://files?endpoint_url=minio:9000"}, "http:// or https://"),
        ({"STORAGE_URL": "file://", "AWS_S3_ENDPOINT_URL": "http://x"}, "selects local files"),
    ],
)
def test_a_malformed_storage_configuration_stops_start_up(environ, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        default_storage_backend(environ)


# -- reading from S3 by ranges ----------------------------------------------------------------


def test_a_stored_file_is_read_by_ranges_with_seeks(s3_storage):
    content = bytes(range(256)) * 40_000  # 10 MB, more than the read buffer
    name = s3_storage.save("blobs/data.bin", ContentFile(content))
    with open_stored(name) as fh:
        assert isinstance(fh.raw, RangedObjectReader)
        assert fh.read(10) == content[:10]
        fh.seek(-5, io.SEEK_END)
        assert fh.read() == content[-5:]
        fh.seek(9_000_000)
        assert fh.tell() == 9_000_000
        assert fh.read(1000) == content[9_000_000:9_001_000]
        fh.seek(0)
        assert fh.read() == content


def test_a_parquet_file_is_read_from_the_bucket_without_downloading_it(s3_storage):
    table = pa.table({"x": np.arange(200_000), "y": np.arange(200_000) * 0.5})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=50_000)
    name = s3_storage.save("blobs/data.parquet", ContentFile(buffer.getvalue()))
    with open_stored(name) as fh:
        parquet = pq.ParquetFile(fh)
        assert parquet.metadata.num_rows == 200_000
        only_y = parquet.read_row_group(3, columns=["y"])
        assert only_y.column("y").to_pylist()[:2] == [75_000.0, 75_000.5]


def test_a_missing_stored_file_is_file_not_found(s3_storage):
    with pytest.raises(FileNotFoundError):
        open_stored("nowhere/missing.csv")
