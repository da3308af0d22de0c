from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin
from django.db.models import Count, Exists, OuterRef, Q

from routing import outbound_files, services
from routing.admin_forms import AgentChangeForm, AgentCreationForm
from routing.admin_tools import (
    STATUS_ACTIONS,
    InteractionTranscriptMixin,
    ReadOnlyAdminMixin,
    RecordingTranscriptMixin,
    ResponseImportMixin,
    export_csv,
    export_json,
)
from routing.models import (
    Agent,
    BusinessHours,
    Customer,
    DesktopConnection,
    FavouriteResponse,
    Holiday,
    Interaction,
    InteractionEvent,
    Message,
    Note,
    PageComment,
    PriorityRule,
    Recording,
    ResponseCategory,
    ResponseLibrary,
    Skill,
    StoredResponse,
    Workgroup,
    WrapUpCode,
)

if TYPE_CHECKING:
    from typing import TypedDict

    from django_stubs_ext import WithAnnotations

    class _AgentRowAnnotations(TypedDict):
        live: int  # interactions alerting, connected or held
        online: bool  # a desktop is open

    # An agent as AgentAdmin's list reads it (AgentAdmin.get_queryset).
    AgentRow = WithAnnotations[Agent, _AgentRowAnnotations]


class WrapUpCodeInline(admin.TabularInline):
    model = WrapUpCode
    extra = 1


class BusinessHoursInline(admin.TabularInline):
    """The weekly opening spans; none at all: always open (holidays aside)."""

    model = BusinessHours
    extra = 1
    verbose_name = "opening span"
    verbose_name_plural = (
        "Business hours, in the workgroup's time zone (none: always open; "
        "out of hours nothing is offered and the out-of-hours message is sent)"
    )


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1
    verbose_name_plural = "Holidays (closed all day)"


class WorkgroupForm(forms.ModelForm):
    class Meta:
        model = Workgroup
        fields = [
            "name",
            "capacity_per_agent",
            "alert_timeout_seconds",
            "auto_record",
            "wrap_up_required",
            "after_contact_seconds",
            "first_response_seconds",
            "next_response_seconds",
            "default_wrap_up_code",
            "agent_reply_timeout_seconds",
            "agent_reply_warning_seconds",
            "customer_silence_timeout_seconds",
            "customer_silence_warning_seconds",
            "customer_silence_wrap_up_code",
            "time_zone",
            "out_of_hours_message",
            "acknowledgement_message",
            "feedback_survey",
            "members",
            "required_skills",
            "preferred_agent_seconds",
        ]
        widgets = {"required_skills": forms.CheckboxSelectMultiple}

    def clean_default_wrap_up_code(self):
        return self._own_code("default_wrap_up_code")

    def clean_customer_silence_wrap_up_code(self):
        return self._own_code("customer_silence_wrap_up_code")

    def _own_code(self, field: str):
        code = self.cleaned_data.get(field)
        if code is not None and code.workgroup_id != self.instance.pk:
            raise forms.ValidationError("Choose one of this workgroup's own wrap-up codes.")
        return code

    def clean(self):
        cleaned = super().clean()
        # A warning is given before its timeout, within it.
        for timeout, warning in (
            ("agent_reply_timeout_seconds", "agent_reply_warning_seconds"),
            ("customer_silence_timeout_seconds", "customer_silence_warning_seconds"),
        ):
            lead = cleaned.get(warning)
            if not lead:
                continue
            if not cleaned.get(timeout):
                self.add_error(warning, "Set the timeout first: this warns before it.")
            elif lead >= cleaned[timeout]:
                self.add_error(warning, "The warning comes before the timeout: give fewer seconds.")
        return cleaned


@admin.register(Workgroup)
class WorkgroupAdmin(admin.ModelAdmin):
    form = WorkgroupForm
    list_display = [
        "name",
        "capacity_per_agent",
        "alert_timeout_seconds",
        "auto_record",
        "wrap_up_required",
        "after_contact_seconds",
        "first_response_seconds",
        "next_response_seconds",
        "preferred_agent_seconds",
        "required_skill_names",
        "feedback_survey",
    ]
    filter_horizontal = ["members"]
    search_fields = ["name"]
    inlines = [WrapUpCodeInline, BusinessHoursInline, HolidayInline]

    def save_related(self, request, form, formsets, change) -> None:
        before = {getattr(m, "pk", m) for m in form.initial.get("members", ())}
        super().save_related(request, form, formsets, change)
        # More room (a higher capacity, new members) is offered at once.
        if "capacity_per_agent" in form.changed_data:
            services.set_workgroup_capacity(
                workgroup_id=form.instance.pk,
                capacity_per_agent=form.cleaned_data["capacity_per_agent"],
            )
        if "members" in form.changed_data:
            after = {agent.pk for agent in form.cleaned_data["members"]}
            services.workgroup_members_changed(
                workgroup_ids=[form.instance.pk], agent_ids=before ^ after
            )
        # Fewer required skills may let members take what waits.
        if "required_skills" in form.changed_data:
            services.skills_changed(workgroup_ids=[form.instance.pk])

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("required_skills")

    @admin.display(description="Required skills")
    def required_skill_names(self, workgroup: Workgroup) -> str:
        return ", ".join(s.name for s in workgroup.required_skills.all()) or "—"


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    """Agents, their workgroups and status. Adding one creates their (non-staff) login.

    The status changes only through routing.services.set_agent_status (the
    actions, or "Set status" on the agent's page), never by saving the field.
    """

    list_display = [
        "__str__",
        "username",
        "status",
        "status_changed_at",
        "live_load",
        "desktop_open",
        "capacity",
        "workgroup_names",
        "skill_names",
    ]
    list_filter = ["status", "workgroups", "skills"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user"]
    actions = STATUS_ACTIONS
    change_fieldsets = [
        (None, {"fields": ["user", "status", "new_status", "status_changed_at", "idle_since"]}),
        ("Routing", {"fields": ["capacity", "workgroups", "skills"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "first_name", "last_name", "password1", "password2"]}),
        ("Routing", {"fields": ["capacity", "workgroups", "skills"]}),
    ]

    def get_queryset(self, request):
        live = Q(interactions__state__in=["alerting", "connected", "held"])
        return (
            super()
            .get_queryset(request)
            .annotate(
                live=Count("interactions", filter=live, distinct=True),
                online=Exists(DesktopConnection.objects.filter(agent=OuterRef("pk"))),
            )
            .prefetch_related("workgroups", "skills")
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = AgentChangeForm if obj else AgentCreationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        return self.change_fieldsets if obj else self.add_fieldsets

    def get_readonly_fields(self, request, obj=None):
        return ["user", "status", "status_changed_at", "idle_since"] if obj else []

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.user = form.create_user()
            obj.save()
            return
        # Only the form's own columns: saving the whole row would write back
        # a status read before the agent (or the ACD) changed it.
        obj.save(update_fields=AgentChangeForm.Meta.fields)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        form.save_workgroups(form.instance)
        form.save_skills(form.instance)
        if change and (status := form.cleaned_data.get("new_status")):
            services.set_agent_status(agent=form.instance, status=status)
        # More room (a higher capacity, another workgroup) is offered at once.
        if "capacity" in form.changed_data:
            services.set_agent_capacity(
                agent_id=form.instance.pk, capacity=form.cleaned_data["capacity"]
            )
        if "workgroups" in form.changed_data:
            services.workgroup_members_changed(
                workgroup_ids=[w.pk for w in form.cleaned_data["workgroups"]],
                agent_ids=[form.instance.pk],
            )
        # A new skill may let the agent take what waits where it is required.
        if "skills" in form.changed_data:
            services.skills_changed(agent_ids=[form.instance.pk])

    @admin.display(description="Username", ordering="user__username")
    def username(self, agent: Agent) -> str:
        return agent.user.get_username()

    @admin.display(description="Live", ordering="live")
    def live_load(self, agent: "AgentRow") -> int:
        return agent.live

    @admin.display(description="Desktop open", boolean=True, ordering="online")
    def desktop_open(self, agent: "AgentRow") -> bool:
        return agent.online

    @admin.display(description="Workgroups")
    def workgroup_names(self, agent: Agent) -> str:
        return ", ".join(w.name for w in agent.workgroups.all()) or "—"

    @admin.display(description="Skills")
    def skill_names(self, agent: Agent) -> str:
        return ", ".join(s.name for s in agent.skills.all()) or "—"


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    """Skills agents hold and workgroups require: only members with all of a
    workgroup's required skills are offered its interactions."""

    list_display = ["name", "holders", "required_by_names"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(holder_count=Count("agents", distinct=True))
            .prefetch_related("required_by")
        )

    @admin.display(description="Agents holding it", ordering="holder_count")
    def holders(self, skill) -> int:
        return skill.holder_count

    @admin.display(description="Required by")
    def required_by_names(self, skill: Skill) -> str:
        return ", ".join(w.name for w in skill.required_by.all()) or "—"


@admin.register(PriorityRule)
class PriorityRuleAdmin(admin.ModelAdmin):
    """Priority on arrival: the highest active rule a new interaction matches sets its
    priority; the queue is offered by priority, then by arrival."""

    list_display = ["__str__", "match", "value", "page_id", "priority", "active"]
    list_editable = ["priority", "active"]
    list_filter = ["match", "active"]
    search_fields = ["value", "page_id"]


class CustomerInteractionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Interaction
    extra = 0
    fields = readonly_fields = ("created_at", "workgroup", "state", "agent", "disconnected_at")
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: customers come from Messenger (their name from Meta's profile)."""

    list_display = ["__str__", "channel", "psid", "page_id", "last_message_at", "created_at"]
    search_fields = ["psid", "first_name", "last_name", "username"]
    list_filter = ["channel", "page_id", "created_at"]
    date_hierarchy = "created_at"
    inlines = [CustomerInteractionInline]


class InteractionEventInline(admin.TabularInline):
    model = InteractionEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "verb", "from_state", "to_state", "actor", "detail")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = readonly_fields = ("sent_at", "direction", "text", "status", "mid", "error_message")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class NoteInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Note
    extra = 0
    fields = readonly_fields = ("written_at", "author", "text")


class RecordingInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Recording
    extra = 0
    fields = readonly_fields = ("started_at", "stopped_at", "started_by")
    show_change_link = True


@admin.register(Interaction)
class InteractionAdmin(InteractionTranscriptMixin, admin.ModelAdmin):
    """Read-only: interactions change only through the routing services."""

    list_display = [
        "pk",
        "customer",
        "page_id",
        "workgroup",
        "state",
        "agent",
        "recording",
        "created_at",
        "connected_at",
        "disconnected_at",
        "csat_score",
    ]
    list_filter = [
        "state",
        "workgroup",
        "agent",
        ("customer__page_id", admin.AllValuesFieldListFilter),
        "created_at",
        "recording",
        "wrap_up_code",
        "csat_score",
    ]
    search_fields = ["customer__psid", "customer__first_name", "customer__last_name"]
    search_help_text = "Search by the customer's PSID or name."
    list_select_related = ["customer", "workgroup", "agent__user"]
    date_hierarchy = "created_at"
    readonly_fields = ["transcript_link"]
    inlines = [MessageInline, NoteInline, InteractionEventInline, RecordingInline]

    @admin.display(description="Page", ordering="customer__page_id")
    def page_id(self, interaction: Interaction) -> str:
        return interaction.customer.page_id

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StoredResponseInline(admin.TabularInline):
    model = StoredResponse
    extra = 1


class ResponseCategoryInline(admin.TabularInline):
    model = ResponseCategory
    extra = 1


@admin.register(ResponseLibrary)
class ResponseLibraryAdmin(ResponseImportMixin, admin.ModelAdmin):
    """Shared libraries (no owner) and agents' own; export selected, import from a file."""

    actions = [export_csv, export_json]
    list_display = ["name", "owner"]
    list_filter = [("owner", admin.EmptyFieldListFilter)]
    search_fields = ["name", "owner__username"]
    inlines = [ResponseCategoryInline]


@admin.register(ResponseCategory)
class ResponseCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "library"]
    list_filter = ["library"]
    inlines = [StoredResponseInline]
    search_fields = ["name"]


class StoredResponseForm(forms.ModelForm):
    class Meta:
        model = StoredResponse
        fields = ["category", "name", "shortcut", "labels", "text", "file"]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and hasattr(upload, "chunks") and not getattr(upload, "_committed", False):
            try:
                outbound_files.check([upload])
            except outbound_files.FileRefused as refused:
                raise forms.ValidationError(str(refused)) from None
        return upload


@admin.register(StoredResponse)
class StoredResponseAdmin(admin.ModelAdmin):
    form = StoredResponseForm
    list_display = ["name", "shortcut", "category", "labels", "file"]
    list_filter = ["category__library", "category"]
    search_fields = ["name", "shortcut", "labels", "text"]


@admin.register(FavouriteResponse)
class FavouriteResponseAdmin(admin.ModelAdmin):
    list_display = ["user", "response"]


@admin.register(Recording)
class RecordingAdmin(RecordingTranscriptMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["interaction", "started_by", "started_at", "stopped_at", "transcript_link"]
    list_filter = ["started_at", "interaction__workgroup"]
    search_fields = ["interaction__customer__psid", "interaction__customer__first_name"]
    list_select_related = ["interaction__customer", "started_by"]
    date_hierarchy = "started_at"
    readonly_fields = [
        "interaction",
        "started_by",
        "started_at",
        "stopped_at",
        "transcript_link",
        "transcript",
    ]


@admin.register(Note)
class NoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Agents' internal notes (read-only: written from the desktop, never sent)."""

    list_display = ["written_at", "interaction", "author", "text"]
    list_filter = ["written_at", "interaction__workgroup"]
    search_fields = ["text", "interaction__customer__psid"]
    list_select_related = ["interaction__customer", "author"]
    date_hierarchy = "written_at"


@admin.register(PageComment)
class PageCommentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Comments on the Page's posts routed as interactions, and whom their private reply reached."""

    list_display = ["commented_at", "interaction", "post_id", "text", "reply_psid", "replied_at"]
    search_fields = ["comment_id", "post_id", "text", "reply_psid"]
    list_select_related = ["interaction__customer"]
    date_hierarchy = "commented_at"


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every message in and out, with its send outcome (read-only)."""

    list_display = ["sent_at", "interaction", "direction", "status", "error_code", "short_text"]
    list_filter = ["direction", "status", "error_code", "sent_at", "interaction__workgroup"]
    search_fields = ["text", "mid", "interaction__customer__psid"]
    search_help_text = "Search by text, Meta's message id or the customer's PSID."
    list_select_related = ["interaction__customer"]
    date_hierarchy = "sent_at"

    @admin.display(description="Text")
    def short_text(self, message: Message) -> str:
        return message.text[:80]


@admin.register(InteractionEvent)
class InteractionEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The event history of every interaction: who did what, when (read-only)."""

    list_display = ["at", "interaction", "verb", "from_state", "to_state", "actor"]
    list_filter = ["verb", "at", "interaction__workgroup"]
    search_fields = ["interaction__customer__psid", "actor__username", "verb"]
    list_select_related = ["interaction__customer", "actor"]
    date_hierarchy = "at"


@admin.register(DesktopConnection)
class DesktopConnectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Open desktop tabs; the timers forget the tabs of a crashed server process."""

    list_display = ["agent", "connected_at", "last_seen", "channel_name"]
    list_select_related = ["agent__user"]


@admin.register(WrapUpCode)
class WrapUpCodeAdmin(admin.ModelAdmin):
    list_display = ["label", "workgroup", "active"]
    list_filter = ["workgroup", "active"]
    search_fields = ["label"]


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    """Also kept inline on each workgroup; here, every workgroup's at a glance."""

    list_display = ["workgroup", "weekday", "opens", "closes"]
    list_filter = ["workgroup", "weekday"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "workgroup"]
    list_filter = ["workgroup"]
    date_hierarchy = "date"
