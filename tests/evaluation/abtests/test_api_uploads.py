"""The raw per-user upload over the API: the file the page takes, streamed to storage under
ABTEST_MAX_UPLOAD_BYTES, aggregated by the worker; its status is polled."""

from django.core.files.uploadedfile import SimpleUploadedFile

from evaluation.models import ABRawUpload, ABResult
from evaluation.uploads import MaxSizeUploadHandler

RAW = b"variant,conversion,revenue,order_time\n" + b"control,1,30.5,7\ntreatment,0,12.0,9\n" * 5


def raw_file(content: bytes = RAW, name: str = "rows.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_an_upload_is_accepted_with_202_and_aggregated_into_the_results(
    abtest, member, client_for, django_capture_on_commit_callbacks
):
    api = client_for(member)
    url = f"/api/v1/ab-tests/{abtest.pk}/uploads/"
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(url, {"file": raw_file(), "variant_column": "variant"})
    assert answer.status_code == 202, answer.json()
    body = answer.json()
    assert body["status"] == "queued" and body["size"] == len(RAW)
    assert body["original_name"] == "rows.csv"
    status = api.get(f"{url}{body['id']}/").json()
    assert status["status"] == "succeeded" and status["rows_read"] == 10
    assert ABResult.objects.get(metric__key="conversion", variant__key="control").conversions == 5


def test_a_token_client_uploads_too(abtest, member, org, django_capture_on_commit_callbacks):
    from django.test import Client

    from accounts.models import TokenScope
    from accounts.services import api_token_create

    _, secret = api_token_create(org=org, user=member, name="pipeline", scope=TokenScope.WRITE)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    answer = client.post(f"/api/v1/ab-tests/{abtest.pk}/uploads/", {"file": raw_file()})
    assert answer.status_code == 202, answer.content


def test_a_missing_or_empty_file_is_a_400(abtest, member, client_for):
    api = client_for(member)
    url = f"/api/v1/ab-tests/{abtest.pk}/uploads/"
    assert api.post(url, {"variant_column": "variant"}).status_code == 400
    empty = api.post(url, {"file": raw_file(b"")})
    assert empty.status_code == 400
    assert not ABRawUpload.objects.exists()


def test_a_json_body_is_a_415(abtest, member, client_for):
    answer = client_for(member).post(
        f"/api/v1/ab-tests/{abtest.pk}/uploads/", {"file": "x"}, content_type="application/json"
    )
    assert answer.status_code == 415


def test_an_oversize_file_is_refused_with_413_while_it_streams(
    abtest, member, client_for, settings, monkeypatch
):
    settings.ABTEST_MAX_UPLOAD_BYTES = 100_000
    seen: list[int] = []
    receive = MaxSizeUploadHandler.receive_data_chunk

    def spy(self, raw_data: bytes, start: int) -> bytes:
        seen.append(self.received + len(raw_data))
        return receive(self, raw_data, start)

    monkeypatch.setattr(MaxSizeUploadHandler, "receive_data_chunk", spy)
    body = RAW + b"control,1,30.5,7\n" * 40_000  # about 680 kB
    answer = client_for(member).post(
        f"/api/v1/ab-tests/{abtest.pk}/uploads/", {"file": raw_file(body)}
    )
    assert answer.status_code == 413
    assert "ABTEST_MAX_UPLOAD_BYTES" in answer.content.decode()
    assert not ABRawUpload.objects.exists()


def test_an_upload_to_a_decided_test_is_a_409(analyzed_abtest, member, client_for):
    from evaluation.abtests import services

    services.abtest_decide(abtest=analyzed_abtest, user=member, outcome="ship", rationale="r")
    answer = client_for(member).post(
        f"/api/v1/ab-tests/{analyzed_abtest.pk}/uploads/", {"file": raw_file()}
    )
    assert answer.status_code == 409


def test_a_viewer_may_not_upload(abtest, viewer, client_for):
    answer = client_for(viewer).post(f"/api/v1/ab-tests/{abtest.pk}/uploads/", {"file": raw_file()})
    assert answer.status_code == 403


def test_another_organizations_test_and_upload_are_404(other_abtest, member, client_for):
    api = client_for(member)
    url = f"/api/v1/ab-tests/{other_abtest.pk}/uploads/"
    assert api.post(url, {"file": raw_file()}).status_code == 404
    upload = other_abtest.raw_uploads.get()
    assert api.get(f"{url}{upload.pk}/").status_code == 404


def test_the_upload_is_in_the_openapi_schema(member, client_for):
    schema = client_for(member).get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/ab-tests/{id}/uploads/"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"202", "400", "409", "413"} <= set(operation["responses"])
