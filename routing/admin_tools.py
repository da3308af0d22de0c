"""Pieces of routing's admin that do more than list and edit rows.

- Read-only admins (interactions, messages, events, recordings, customers):
  these rows change only through routing verbs, and nobody deletes them.
- Agent status actions: through `routing.services.set_agent_status`, never
  by saving the field.
- Transcript downloads (an interaction, a recording) as text files.
- Stored-response import and export (CSV or JSON), see `routing.response_io`.
"""

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from routing import response_io, services
from routing.admin_forms import ResponseImportForm
from routing.models import AgentStatus
from routing.rules import CHOOSABLE_STATUSES
from routing.transcript_text import interaction_text, recording_text

if TYPE_CHECKING:
    # The mixins below are only ever mixed into a ModelAdmin, whose attributes
    # (admin_site, opts, get_object, message_user…) they use.
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = object


class ReadOnlyAdminMixin:
    """Shown, searched and filtered; never added, changed or deleted from admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def status_action(status: AgentStatus):
    """An admin action that sets the selected agents' status the way they would."""

    @admin.action(description=f"Set status: {status.label}", permissions=("change",))
    def action(modeladmin, request: HttpRequest, queryset) -> None:
        agents = list(queryset.select_related("user"))
        for agent in agents:
            services.set_agent_status(agent=agent, status=status.value)
        modeladmin.message_user(request, f"Set {len(agents)} agent(s) to {status.label}.")

    action.__name__ = f"set_status_{status.value}"
    return action


STATUS_ACTIONS = [status_action(s) for s in CHOOSABLE_STATUSES]


def _text_file(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class TranscriptDownloadMixin(_ModelAdmin):
    """`<id>/transcript.txt` beside the change page, for whoever may view the row."""

    transcript_filename = "transcript-{pk}.txt"

    def transcript_of(self, obj) -> str:
        raise NotImplementedError

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/transcript.txt",
                self.admin_site.admin_view(self.transcript_view),
                name="{}_{}_transcript".format(*info),
            ),
            *super().get_urls(),
        ]

    def transcript_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("No such row.")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return _text_file(self.transcript_of(obj), self.transcript_filename.format(pk=obj.pk))

    @admin.display(description="Transcript")
    def transcript_link(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "—"
        url = reverse(
            f"admin:{obj._meta.app_label}_{obj._meta.model_name}_transcript", args=[obj.pk]
        )
        return format_html('<a href="{}" download>Download transcript (.txt)</a>', url)


class InteractionTranscriptMixin(TranscriptDownloadMixin):
    transcript_filename = "interaction-{pk}.txt"

    def transcript_of(self, obj) -> str:
        return interaction_text(obj)


class RecordingTranscriptMixin(TranscriptDownloadMixin):
    transcript_filename = "recording-{pk}.txt"

    def transcript_of(self, obj) -> str:
        return recording_text(obj)


# --- stored responses to and from files ------------------------------------------


def _export(queryset, *, kind: str) -> HttpResponse:
    rows = response_io.export_rows(queryset)
    if kind == "json":
        body, content_type = response_io.to_json(rows), "application/json; charset=utf-8"
    else:
        body, content_type = response_io.to_csv(rows), "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="stored-responses.{kind}"'
    return response


@admin.action(description="Export the selected libraries as CSV", permissions=["view"])
def export_csv(modeladmin, request, queryset) -> HttpResponse:
    return _export(queryset, kind="csv")


@admin.action(description="Export the selected libraries as JSON", permissions=["view"])
def export_json(modeladmin, request, queryset) -> HttpResponse:
    return _export(queryset, kind="json")


class ResponseImportMixin(_ModelAdmin):
    """An "Import responses" page beside the libraries' list."""

    change_list_template = "admin/routing/responselibrary/change_list.html"

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="routing_responselibrary_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        status = 200
        problems: list[str] = []
        form = ResponseImportForm()
        if request.method == "POST":
            form = ResponseImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    # One byte over the limit is enough to refuse the file.
                    data = upload.read(response_io.MAX_FILE_BYTES + 1)
                    done = response_io.import_rows(response_io.parse(upload.name, data))
                except response_io.ImportRefused as refused:
                    problems = refused.problems
                    status = 413 if len(data) > response_io.MAX_FILE_BYTES else 422
                else:
                    self.message_user(
                        request,
                        f"Imported: {done.created} new, {done.updated} updated, "
                        f"{done.unchanged} unchanged.",
                        messages.SUCCESS,
                    )
                    return redirect("admin:routing_responselibrary_changelist")
            else:
                status = 422
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import stored responses",
            "form": form,
            "problems": problems,
            "columns": response_io.COLUMNS,
        }
        return TemplateResponse(
            request, "admin/routing/responselibrary/import.html", context, status=status
        )
