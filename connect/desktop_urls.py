from django.urls import path

from connect import list_order, messenger_views, responses, transcripts, views

urlpatterns = [
    path("", views.desktop, name="desktop"),
    path("desktop/resync", views.resync, name="resync"),
    path("desktop/status", views.set_status, name="set-status"),
    path("desktop/list-order", list_order.list_order, name="list-order"),
    path("interactions/<int:pk>/", views.interaction_panel, name="interaction"),
    path("interactions/<int:pk>/transfer", views.transfer, name="transfer"),
    path("interactions/<int:pk>/transfer-dialog", views.transfer_dialog, name="transfer-dialog"),
    path("interactions/<int:pk>/messages", views.send_message, name="send-message"),
    path("interactions/<int:pk>/notes", views.add_note, name="add-note"),
    path("interactions/<int:pk>/help", views.ask_for_help, name="ask-for-help"),
    path("interactions/<int:pk>/older", transcripts.older_messages, name="older-messages"),
    path("interactions/<int:pk>/read", transcripts.mark_read, name="mark-read"),
    path(
        "interactions/<int:pk>/history/<int:past_pk>",
        transcripts.past_interaction,
        name="past-interaction",
    ),
    path("responses/", responses.picker, name="response-picker"),
    path("responses/search", responses.search, name="response-search"),
    path("responses/suggest", responses.suggest, name="response-suggest"),
    path("responses/new", responses.new, name="response-new"),
    path("responses/mine", responses.save, name="response-save"),
    path("responses/<int:pk>/favourite", responses.favourite, name="response-favourite"),
    path("responses/<int:pk>/delete", responses.delete, name="response-delete"),
    path("responses/<int:pk>/file", responses.response_file, name="response-file"),
    path("interactions/<int:pk>/typing", messenger_views.typing, name="typing"),
    path("interactions/<int:pk>/seen", messenger_views.seen, name="mark-seen"),
    path(
        "interactions/<int:pk>/take-thread-control",
        messenger_views.take_thread_control,
        name="take-thread-control",
    ),
    path(
        "messages/<int:pk>/attachments/<int:index>",
        messenger_views.attachment,
        name="message-attachment",
    ),
    path(
        "interactions/<int:pk>/<slug:action>",
        views.interaction_action,
        name="interaction-action",
    ),
    path("messages/<int:pk>/<slug:action>", views.message_action, name="message-action"),
]
