"""Forms of the business-analysis pages. They validate; the services in
`mlprojects.analyses.services` save. Forms that offer a choice of related objects take the
organization, so nothing of another organization is ever offered or accepted."""

from django import forms

from accounts.models import Organization
from mlprojects.models import BusinessAnalysis, DataSource, Interview, Offering, Rating, UseCase

TEXTAREA = forms.Textarea(attrs={"rows": 3})


class AnalysisForm(forms.ModelForm):
    class Meta:
        model = BusinessAnalysis
        fields = ["name", "how_it_earns", "notes"]
        labels = {"name": "Company or business unit"}
        widgets = {"how_it_earns": TEXTAREA, "notes": TEXTAREA}


class OfferingForm(forms.ModelForm):
    class Meta:
        model = Offering
        fields = ["name", "value"]
        labels = {"name": "Product or service"}
        widgets = {"value": TEXTAREA}


class DataSourceForm(forms.ModelForm):
    class Meta:
        model = DataSource
        fields = [
            "name",
            "owning_team",
            "description",
            "trustworthiness",
            "consistency",
            "label_quality",
            "continuity",
            "notes",
            "analysis",
        ]
        labels = {
            "trustworthiness": "Trustworthy — can we believe it?",
            "consistency": "Consistent — same meaning over time and across systems?",
            "label_quality": "Labels — are they there, and right?",
            "continuity": "Keeps coming — will it still arrive next year?",
            "analysis": "Part of the analysis",
        }
        help_texts = {"continuity": ""}
        widgets = {"description": TEXTAREA, "notes": TEXTAREA}

    def __init__(self, *args, org: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in ("trustworthiness", "consistency", "label_quality", "continuity"):
            self.fields[field].choices = [("", "Not rated yet"), *Rating.choices]
        self.fields["analysis"].queryset = BusinessAnalysis.objects.filter(organization=org)
        self.fields["analysis"].empty_label = "None (organization-wide)"


class UseCaseForm(forms.ModelForm):
    class Meta:
        model = UseCase
        fields = [
            "name",
            "data_sources",
            "prediction",
            "output_use",
            "output_detail",
            "expected_impact",
        ]
        widgets = {
            "data_sources": forms.CheckboxSelectMultiple,
            "prediction": TEXTAREA,
            "output_detail": TEXTAREA,
            "expected_impact": TEXTAREA,
        }

    def __init__(self, *args, org: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["data_sources"].queryset = DataSource.objects.filter(organization=org)
        self.fields["data_sources"].help_text = ""


class InterviewForm(forms.ModelForm):
    class Meta:
        model = Interview
        fields = ["interviewee", "team", "held_on", "learned"]
        widgets = {
            "held_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "learned": forms.Textarea(attrs={"rows": 4}),
        }
