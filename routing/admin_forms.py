"""Forms of routing's admin pages: adding an agent, editing one, importing responses."""

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password

from routing.models import Agent, Skill, Workgroup
from routing.rules import CHOOSABLE_STATUSES

SETTABLE_STATUSES = [(s.value, s.label) for s in CHOOSABLE_STATUSES]


class _AgentWorkgroupsMixin(forms.ModelForm):
    # Workgroup.members seen from the agent's side (a reverse relation, which
    # a ModelForm does not edit by itself).
    workgroups = forms.ModelMultipleChoiceField(
        queryset=Workgroup.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The workgroups whose interactions this agent is offered.",
    )

    skills = forms.ModelMultipleChoiceField(
        queryset=Skill.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Offered a workgroup's interactions only when holding all its required skills.",
    )

    def save_workgroups(self, agent: Agent) -> None:
        agent.workgroups.set(self.cleaned_data["workgroups"])

    def save_skills(self, agent: Agent) -> None:
        agent.skills.set(self.cleaned_data["skills"])


class AgentCreationForm(_AgentWorkgroupsMixin):
    """A new agent and their login: a plain user, never staff, with no permissions."""

    username = forms.CharField(max_length=150, help_text="What the agent logs in with.")
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput)

    class Meta:
        model = Agent
        fields = ["capacity"]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        User = get_user_model()
        username = User.normalize_username(username)
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is taken.")
        return username

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            user = get_user_model()(
                username=cleaned.get("username", ""),
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                validate_password(first, user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned

    def create_user(self):
        return get_user_model().objects.create_user(
            username=self.cleaned_data["username"],
            password=self.cleaned_data["password1"],
            first_name=self.cleaned_data["first_name"],
            last_name=self.cleaned_data["last_name"],
        )


class AgentChangeForm(_AgentWorkgroupsMixin):
    """Capacity and workgroups; a new status goes through routing.services.set_agent_status."""

    new_status = forms.ChoiceField(
        label="Set status",
        choices=[("", "— leave as it is —"), *SETTABLE_STATUSES],
        required=False,
        help_text="Applied as the agent would set it: offers follow when set Available.",
    )

    class Meta:
        model = Agent
        fields = ["capacity"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["workgroups"].initial = list(self.instance.workgroups.all())
            self.fields["skills"].initial = list(self.instance.skills.all())


class ResponseImportForm(forms.Form):
    file = forms.FileField(
        help_text="A CSV with the columns library, category, name, shortcut, labels, text; "
        'or JSON: {"responses": [{"library": …, "category": …, "name": …, "shortcut": …, '
        '"labels": …, "text": …}]}. UTF-8, at most 1 MiB.'
    )
