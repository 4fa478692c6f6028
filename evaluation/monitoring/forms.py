"""Forms of the monitoring pages: record a deployment, set the alert rules. They
validate; services save."""

from django import forms
from django.utils import timezone

from evaluation.monitoring.models import MonitorSettings
from evaluation.registry.models import ModelVersion
from evaluation.registry.selectors import project_model_versions
from mlprojects.models import Project


class AlertRulesForm(forms.ModelForm):
    class Meta:
        model = MonitorSettings
        fields = list(MonitorSettings.ALERT_RULE_FIELDS)
        labels = {"consecutive_windows": "Consecutive values or windows"}


class DeploymentForm(forms.Form):
    what = forms.CharField(
        max_length=200,
        label="What is deployed",
        help_text="A model name and version, a release tag, or the rule set that runs.",
    )
    model_version = forms.ModelChoiceField(
        queryset=ModelVersion.objects.none(),
        required=False,
        label="Registered model version",
        empty_label="— none (the model is not registered here) —",
        help_text="When the model is registered in this project (its Models page).",
    )
    environment = forms.CharField(max_length=100, initial="production")
    since = forms.DateTimeField(
        label="Deployed since",
        initial=timezone.now,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    traffic_share = forms.FloatField(
        label="Share of traffic",
        initial=1.0,
        min_value=0,
        max_value=1,
        help_text="Between 0 and 1 (1 = all traffic; 0.1 for a 10 % canary).",
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, project: Project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the project's own versions can be chosen: another project's or another
        # organization's version is "not one of the available choices".
        field = self.fields["model_version"]
        field.queryset = project_model_versions(project)
        field.label_from_instance = ModelVersion.label.fget
