from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html

from facebook import health, ingest, pages, selectors, versions
from facebook.models import FacebookPage, InstagramAccount, MessengerPersona, WebhookDelivery

TOKEN_INVALID_WORDS = (
    "Messenger refused this Page's access token (invalid or expired): "
    "no reply can be sent until a supervisor enters a new one."
)


class FacebookPageForm(forms.ModelForm):
    """The token is write-only: left empty on edit, the stored one is kept."""

    access_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Paste a new Page access token to replace the stored one; empty keeps it.",
    )

    class Meta:
        model = FacebookPage
        # The token is no model field of the form: facebook.pages.save_page stores
        # a new one (encrypted) or keeps the stored one.
        fields = [
            "page_id",
            "name",
            "workgroup",
            "personas_enabled",
            "primary_app_id",
            "usual_silence_minutes",
        ]

    usual_silence_minutes = forms.IntegerField(
        label="Usual silence (minutes)",
        required=False,
        min_value=1,
        help_text="No event from Meta for longer than this shows the Page as silent on the "
        "board; empty keeps the current value.",
    )

    def clean_usual_silence_minutes(self) -> int:
        minutes = self.cleaned_data["usual_silence_minutes"]
        return minutes or self.instance.usual_silence_minutes

    def clean_primary_app_id(self) -> str:
        app_id = self.cleaned_data["primary_app_id"].strip()
        if app_id and not app_id.isdigit():
            raise forms.ValidationError("A Meta app id is a number, e.g. 100000000000888.")
        if app_id and app_id == settings.FACEBOOK_APP_ID:
            raise forms.ValidationError(
                "That is this desktop's own app: the primary app is the one (a bot) that "
                "conversations go back to."
            )
        return app_id

    def clean_access_token(self) -> str:
        token = self.cleaned_data["access_token"].strip()
        if not token and not (self.instance and self.instance.pk):
            raise forms.ValidationError("A new Page needs its access token.")
        return token


@admin.register(FacebookPage)
class FacebookPageAdmin(admin.ModelAdmin):
    form = FacebookPageForm
    list_display = [
        "name",
        "page_id",
        "workgroup",
        "masked_token",
        "token_state",
        "health_state",
        "last_event_at",
        "last_graph_ok_at",
        "policy_state",
        "human_agent_state",
        "personas_enabled",
    ]
    list_filter = ["token_invalid", "subscription", "policy_action", "workgroup"]
    search_fields = ["name", "page_id"]
    readonly_fields = [
        "masked_token",
        "token_state",
        "health_state",
        "last_event_at",
        "last_graph_ok_at",
        "subscription",
        "health_checked_at",
        "policy_state",
        "human_agent_state",
    ]
    actions = ["check_with_meta"]

    @admin.action(description="Check with Meta now (subscription, token, Human Agent review)")
    def check_with_meta(self, request, queryset):
        for page in queryset:
            self.message_user(request, health.check_page(page).line())

    @admin.display(description="Health")
    def health_state(self, page: FacebookPage) -> str:
        state = selectors.page_health(page)
        if state.healthy:
            return f"{state.state.label}: {state.words}"
        return format_html(
            '<strong class="admin-problem">⚠ {}: {}</strong>', state.state.label, state.words
        )

    @admin.display(description="Meta's policy", ordering="policy_action")
    def policy_state(self, page: FacebookPage) -> str:
        if not page.policy_action:
            return "No warning or block"
        return format_html(
            '<strong class="admin-problem">⚠ {}</strong>{}',
            pages.POLICY_WORDS.get(page.policy_action, page.policy_action),
            f": {page.policy_reason}" if page.policy_reason else "",
        )

    @admin.display(description="Human Agent feature", ordering="human_agent_status")
    def human_agent_state(self, page: FacebookPage) -> str:
        status = page.human_agent_status
        if not status:
            return "Not checked yet"
        if status == "approved":
            return "Approved: replies up to 7 days carry the HUMAN_AGENT tag"
        return format_html(
            '<strong class="admin-problem">{}</strong>',
            f"{status.replace('_', ' ').capitalize()}: replies only within 24 hours",
        )

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            notice = versions.version_notice()
            if notice.warn:
                self.message_user(request, notice.words, level=messages.WARNING)
            for page in FacebookPage.objects.exclude(policy_action=""):
                self.message_user(
                    request,
                    f"{page.name}: {pages.POLICY_WORDS.get(page.policy_action, '')}.",
                    level=messages.ERROR if page.policy_action == "block" else messages.WARNING,
                )
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj: FacebookPage, form, change: bool) -> None:
        pages.save_page(obj, new_token=form.cleaned_data.get("access_token", ""))

    @admin.display(description="Stored token")
    def masked_token(self, page: FacebookPage) -> str:
        return page.masked_token

    @admin.display(description="Token state", ordering="token_invalid")
    def token_state(self, page: FacebookPage) -> str:
        if page.token_invalid:
            return format_html(
                '<strong class="token-invalid">⚠ {}</strong>',  # connect/admin.css colours it
                TOKEN_INVALID_WORDS,
            )
        return "Accepted by Messenger"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The flag stays until a new token is saved; say so where the token is entered.
        if request.method == "GET":
            page = self.get_object(request, object_id)
            if page is not None and page.token_invalid:
                self.message_user(
                    request,
                    f"{TOKEN_INVALID_WORDS} Paste a new Page access token below and save.",
                    level=messages.WARNING,
                )
            if page is not None and page.policy_action:
                self.message_user(
                    request,
                    f"{pages.POLICY_WORDS.get(page.policy_action, '')}. {page.policy_reason}",
                    level=messages.WARNING,
                )
        return super().change_view(request, object_id, form_url, extra_context)


PERSONA_FIELDS = (
    "page",
    "agent",
    "name",
    "persona_id",
    "picture_url",
    "state",
    "created_at",
    "attempted_at",
    "failures",
    "last_error",
)


@admin.register(InstagramAccount)
class InstagramAccountAdmin(admin.ModelAdmin):
    """Instagram accounts linked to a Page: their messages are routed, others refused."""

    list_display = ["account_id", "username", "page", "workgroup"]
    list_filter = ["page", "workgroup"]
    search_fields = ["account_id", "username", "page__name"]


@admin.register(MessengerPersona)
class MessengerPersonaAdmin(admin.ModelAdmin):
    """Read-only: facebook.personas creates them. Deleting one makes the next reply create
    it again (after a picture change on Meta's side, say)."""

    list_display = ["agent", "page", "name", "persona_id", "state", "attempted_at"]
    list_filter = ["page"]
    search_fields = ["name", "persona_id", "agent__user__username"]
    fields = readonly_fields = PERSONA_FIELDS

    @admin.display(description="State")
    def state(self, persona: MessengerPersona) -> str:
        if persona.last_error:
            return format_html(
                '<strong class="admin-problem">⚠ Not created: {}</strong>', persona.last_error
            )
        if persona.persona_id:
            return "Created: replies go out under it"
        return "Not created yet"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["received_at", "verdict", "event_count", "attempts", "detail"]
    list_filter = ["verdict", "received_at"]
    search_fields = ["body", "detail"]
    date_hierarchy = "received_at"
    actions = ["route_again"]

    @admin.action(description="Route the selected given-up bodies again")
    def route_again(self, request, queryset):
        count = ingest.route_again(delivery_ids=list(queryset.values_list("pk", flat=True)))
        ingest.kick()
        self.message_user(
            request, f"{count} body(ies) will be routed again; messages already stored stay once."
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
