from django.urls import path

from facebook import webhook

urlpatterns = [
    path("webhook", webhook.webhook, name="facebook-webhook"),
]
