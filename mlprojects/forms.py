from django import forms

from .models import Project


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "summary"]
        widgets = {"summary": forms.Textarea(attrs={"rows": 3})}
