"""Forms of the prototype page. They validate; the services save."""

import json
import re
from typing import Any

from django import forms

from evaluation.prototypes import protocols, schema
from evaluation.prototypes.models import AllowedHost, PrototypeEndpoint, Verdict
from evaluation.prototypes.services import BUILTIN_SCHEME
from evaluation.registry.models import ModelVersion

HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$|^[0-9a-f:.]+$"
)
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,100}$")


class AllowedHostForm(forms.ModelForm):
    class Meta:
        model = AllowedHost
        fields = ["host", "allow_private"]

    def clean_host(self) -> str:
        host = self.cleaned_data["host"].strip().lower().rstrip(".")
        if "://" in host or "/" in host or not HOST.match(host):
            raise forms.ValidationError(
                "A host name or an IP address only, e.g. models.example.com."
            )
        return host


# A version tag naming where the version is served (its scoring server's /invocations).
SERVING_URL_TAG = "serving_url"


class EndpointForm(forms.ModelForm):
    """The endpoint's settings. Headers are write-only: one `Name: value` per line replaces
    the stored ones; left empty, the stored headers are kept. Picking a registered model
    version of the project fills what the version knows: the URL from its `serving_url`
    tag when none is typed, and MLflow's scoring protocol instead of plain JSON (its
    signature gives the input fields: `services.endpoint_fields_from_version`)."""

    headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
        help_text="One “Name: value” per line (e.g. Authorization: Bearer …). Stored "
        "encrypted and never shown again; leave empty to keep the saved ones.",
    )
    clear_headers = forms.BooleanField(required=False, label="Remove the saved headers")

    class Meta:
        model = PrototypeEndpoint
        fields = [
            "model_version", "url", "protocol", "input_field", "output_field", "output_kind",
            "units", "top_k", "baseline",
        ]  # fmt: skip

    def __init__(self, *args, baselines=None, versions=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["baseline"].queryset = baselines
        self.fields["baseline"].required = False
        version_field = self.fields["model_version"]
        # Only the project's own versions: another project's or organization's is "not one
        # of the available choices".
        version_field.queryset = versions if versions is not None else ModelVersion.objects.none()
        version_field.label_from_instance = ModelVersion.label.fget
        version_field.empty_label = "— none: a model served elsewhere —"
        self.fields["url"].required = False
        self.fields["url"].help_text = (
            "e.g. https://models.example.com/invocations; the host must be on the "
            "organization's allow-list. With a registered version, empty takes the "
            f"version's “{SERVING_URL_TAG}” tag."
        )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if url.startswith(BUILTIN_SCHEME) or not url:
            return url
        if not re.match(r"^https?://[^/\s]+", url):
            raise forms.ValidationError("An http:// or https:// URL.")
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        version = data.get("model_version")
        if "url" in data and not data["url"]:
            tagged = (version.tags.get(SERVING_URL_TAG, "") if version else "").strip()
            if tagged and re.match(r"^https?://[^/\s]+", tagged):
                data["url"] = tagged
            else:
                self.add_error(
                    "url",
                    f"Where the version is served (it has no “{SERVING_URL_TAG}” tag)."
                    if version
                    else "This field is required.",
                )
        if version is not None and data.get("protocol") == protocols.PLAIN_JSON:
            data["protocol"] = protocols.MLFLOW_SPLIT  # what `mlflow models serve` speaks
        return data

    def clean_headers(self) -> dict[str, str]:
        headers = {}
        for number, line in enumerate(self.cleaned_data["headers"].splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep or not HEADER_NAME.match(name.strip()) or "\r" in value:
                raise forms.ValidationError(f"Line {number} is not “Name: value”.")
            headers[name.strip()] = value.strip()
        return headers

    def clean_top_k(self) -> int:
        top_k = self.cleaned_data["top_k"]
        if not 1 <= top_k <= 20:
            raise forms.ValidationError("Between 1 and 20.")
        return top_k

    def endpoint_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class SchemaForm(forms.Form):
    """The input fields, from a JSON schema or from an example CSV's columns."""

    json_schema = forms.CharField(
        required=False,
        label="JSON schema",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text='{"type": "object", "properties": {"age": {"type": "number"}, '
        '"city": {"enum": ["Seoul", "Busan"]}}}, or a list of {"name", "type", "choices"}.',
    )
    example_file = forms.FileField(
        required=False,
        label="…or an example CSV",
        help_text="Columns become fields (numbers, categories from the values, text, dates); "
        "its first rows become saved examples.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        text, upload = data.get("json_schema", "").strip(), data.get("example_file")
        if bool(text) == bool(upload):
            raise forms.ValidationError("Give either a JSON schema or an example file.")
        try:
            if upload:
                data["fields"], data["examples"] = schema.fields_from_example(upload.read())
            else:
                parsed = json.loads(text)
                data["fields"] = (
                    schema.build_fields(parsed)
                    if isinstance(parsed, list)
                    else schema.fields_from_json_schema(parsed)
                )
                data["examples"] = None
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"The schema is not valid JSON: {exc.msg}.") from None
        except schema.SchemaError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


def input_form_class(fields: list[dict[str, Any]]) -> type[forms.Form]:
    """A form with one typed field per input field of the prototype."""
    form_fields: dict[str, forms.Field] = {}
    for field in fields:
        name, kind = field["name"], field["type"]
        label = name.replace("_", " ").capitalize()
        if kind in (schema.NUMBER, schema.INTEGER):
            widget = forms.NumberInput(attrs={"step": "any" if kind == schema.NUMBER else "1"})
            form_fields[name] = forms.CharField(label=label, required=False, widget=widget)
        elif kind == schema.BOOLEAN:
            form_fields[name] = forms.BooleanField(label=label, required=False)
        elif kind == schema.CATEGORY:
            choices = [("", "—")] + [(c, c) for c in field["choices"]]
            form_fields[name] = forms.ChoiceField(label=label, choices=choices, required=False)
        elif kind == schema.DATE:
            widget = forms.DateInput(attrs={"type": "date"})
            form_fields[name] = forms.CharField(label=label, required=False, widget=widget)
        else:
            form_fields[name] = forms.CharField(label=label, required=False, max_length=2000)
    return type("PrototypeInputForm", (forms.Form,), form_fields)


class FeedbackForm(forms.Form):
    verdict = forms.ChoiceField(choices=Verdict.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ExampleForm(forms.Form):
    name = forms.CharField(max_length=100)


class BatchForm(forms.Form):
    file = forms.FileField(label="A small CSV (a header row with the input fields)")


class ShareLinkForm(forms.Form):
    label = forms.CharField(required=False, max_length=100, help_text="Who it is for.")
    days = forms.IntegerField(min_value=1, initial=7, label="Valid for (days)")
