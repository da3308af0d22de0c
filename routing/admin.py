from django.contrib import admin

from routing.models import (
    Agent,
    Customer,
    FavouriteResponse,
    Interaction,
    InteractionEvent,
    Message,
    Recording,
    ResponseCategory,
    ResponseLibrary,
    StoredResponse,
    Workgroup,
    WrapUpCode,
)


class WrapUpCodeInline(admin.TabularInline):
    model = WrapUpCode
    extra = 1


@admin.register(Workgroup)
class WorkgroupAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "capacity_per_agent",
        "alert_timeout_seconds",
        "auto_record",
        "wrap_up_required",
    ]
    filter_horizontal = ["members"]
    search_fields = ["name"]
    inlines = [WrapUpCodeInline]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["user", "status", "status_changed_at", "capacity"]
    list_filter = ["status", "workgroups"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "psid", "page_id", "last_message_at", "created_at"]
    search_fields = ["psid", "first_name", "last_name"]
    list_filter = ["page_id"]


class InteractionEventInline(admin.TabularInline):
    model = InteractionEvent
    extra = 0
    can_delete = False
    fields = ["at", "verb", "from_state", "to_state", "actor", "detail"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ["sent_at", "direction", "text", "status", "mid", "error_message"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    """Read-only: interactions change only through the routing services."""

    list_display = ["pk", "customer", "workgroup", "state", "agent", "recording", "created_at"]
    list_filter = ["state", "workgroup", "agent", "created_at"]
    search_fields = ["customer__psid", "customer__first_name", "customer__last_name"]
    list_select_related = ["customer", "workgroup", "agent__user"]
    date_hierarchy = "created_at"
    inlines = [MessageInline, InteractionEventInline]

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
class ResponseLibraryAdmin(admin.ModelAdmin):
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


@admin.register(StoredResponse)
class StoredResponseAdmin(admin.ModelAdmin):
    list_display = ["name", "shortcut", "category", "labels"]
    list_filter = ["category__library", "category"]
    search_fields = ["name", "shortcut", "labels", "text"]


@admin.register(FavouriteResponse)
class FavouriteResponseAdmin(admin.ModelAdmin):
    list_display = ["user", "response"]


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = ["interaction", "started_by", "started_at", "stopped_at"]
    list_filter = ["started_at"]
    readonly_fields = ["interaction", "started_by", "started_at", "stopped_at", "transcript"]

    def has_add_permission(self, request) -> bool:
        return False
