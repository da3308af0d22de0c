from django.urls import path

from connect import views

urlpatterns = [
    path("", views.desktop, name="desktop"),
    path("desktop/resync", views.resync, name="resync"),
    path("desktop/status", views.set_status, name="set-status"),
    path("interactions/<int:pk>/", views.interaction_panel, name="interaction"),
    path("interactions/<int:pk>/transfer", views.transfer, name="transfer"),
    path("interactions/<int:pk>/transfer-dialog", views.transfer_dialog, name="transfer-dialog"),
    path("interactions/<int:pk>/messages", views.send_message, name="send-message"),
    path(
        "interactions/<int:pk>/<slug:action>",
        views.interaction_action,
        name="interaction-action",
    ),
    path("messages/<int:pk>/<slug:action>", views.message_action, name="message-action"),
]
