"""The OpenAPI schema of every /api/v1/ operation documents its error answers too: each
status the API's conventions can answer (see `accounts.api.base`), with the one `Error`
body, so the published schema matches what the server does."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from accounts.api.serializers import ErrorSerializer

WRITES = ("POST", "PUT", "PATCH", "DELETE")
WITH_BODY = ("POST", "PUT", "PATCH")

ERRORS = {
    "400": "Invalid input: a field, query parameter, header or the JSON body (malformed, or "
    "nested deeper than API_MAX_JSON_DEPTH). `fields` names each invalid field.",
    "401": "No credentials, or an unknown, expired or revoked API token.",
    "403": "The caller's role or the token's scope may not do this.",
    "404": "No such object in the caller's organization (another organization's id too).",
    "409": "Conflict: the object changed since it was read, or the step was already taken.",
    "412": "`If-Match` names a version that is no longer current.",
    "413": "The request body is larger than its limit (the message names the setting).",
    "415": "The body's Content-Type is not one this operation parses.",
    "422": "The `Idempotency-Key` was already used with a different request.",
    "429": "Too many requests; `Retry-After` says when to try again.",
}


def error_codes(method: str, view) -> list[str]:
    """The error statuses an operation can answer."""
    codes = ["400", "401", "403", "404", "429"]
    if method in WRITES:
        codes.append("409")
    if method in ("PUT", "PATCH") and hasattr(view, "expected_version"):
        codes.append("412")
    if method in WITH_BODY:
        codes += ["413", "415"]
    if method == "POST":
        codes.append("422")
    return sorted(codes)


FREE_FORM = {"type": "object", "additionalProperties": {}}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the error answers of `error_codes`, and two view
    attributes: `input_class`, the serializer that validates the body, documents the
    request; `plain_answer = True` says the view answers plain data built by a dump
    function (a JSON object; a list of them for a list's GET; 201 for a POST, no body for
    a DELETE) rather than a serializer's output."""

    answers_list = False

    def get_request_serializer(self):
        input_class = getattr(self.view, "input_class", None)
        return input_class if input_class is not None else super().get_request_serializer()

    def _plain_bodies(self) -> dict:
        if self.method == "DELETE":
            return {"204": {"description": "No response body"}}
        schema = FREE_FORM
        if self.method == "GET" and self.answers_list:
            schema = {"type": "array", "items": FREE_FORM}
        code = "201" if self.method == "POST" else "200"
        return {code: {"content": {"application/json": {"schema": schema}}, "description": ""}}

    def _get_response_bodies(self, direction="response"):
        if direction == "response" and getattr(self.view, "plain_answer", False):
            responses = self._plain_bodies()
        else:
            responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in error_codes(self.method, self.view):
            if code not in responses:
                error = OpenApiResponse(ErrorSerializer, description=ERRORS[code])
                responses[code] = self._get_response_for_code(error, code, direction=direction)
        return responses


class ListSchema(ApiAutoSchema):
    """The schema of a view whose GET answers a list though it is no `ListAPIView` (such
    as the items of a project's section): its GET is named `…_list`, as every other list
    is, instead of `…_retrieve`, the name of its detail route's GET."""

    answers_list = True

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        if self.method == "GET":
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id
