"""Forms of collaborative review. They validate; the services save."""

from django import forms

from accounts.models import User
from mlprojects.models import Decision
from mlprojects.review.services import COMMENT_MAX_LENGTH


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Markdown welcome; @name mentions a member."}
        ),
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)


class SubmitForm(forms.Form):
    reviewers = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Stakeholders, admins and owners. None ticked asks every one of them.",
    )
    message = forms.CharField(
        label="Note to reviewers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What changed, what to look at"}),
    )

    def __init__(self, *args, reviewers: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewers"].queryset = User.objects.filter(pk__in=[u.pk for u in reviewers])
        self.fields["reviewers"].label_from_instance = lambda u: f"{u.display_name} ({u.email})"


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to request changes or reject.",
    )

    def clean(self) -> dict:
        data = super().clean()
        if (
            data.get("decision") not in (None, Decision.APPROVE)
            and not data.get("comment", "").strip()
        ):
            self.add_error(
                "comment", "Say why: a comment is required to request changes or reject."
            )
        return data
