from django.urls import re_path

from facebook.fake import graph as fake_graph

# Relative to FACEBOOK_GRAPH_URL, e.g. /fake-graph/v24.0/me/messages.
urlpatterns = [
    # Attachment files, standing in for Meta's CDN.
    re_path(r"^_media/(?P<name>[\w.-]+)$", fake_graph.media, name="fake-graph-media"),
    re_path(r"^_uploads/(?P<attachment_id>\d+)$", fake_graph.uploaded, name="fake-graph-upload"),
    re_path(
        r"^(?P<version>v\d+\.\d+)/(?P<page_id>[^/]+)/message_attachments$",
        fake_graph.message_attachments,
        name="fake-graph-message-attachments",
    ),
    re_path(
        r"^(?P<version>v\d+\.\d+)/(?P<page_id>[^/]+)/messages$",
        fake_graph.messages,
        name="fake-graph-messages",
    ),
    re_path(
        r"^(?P<version>v\d+\.\d+)/(?P<page_id>[^/]+)/personas$",
        fake_graph.personas,
        name="fake-graph-personas",
    ),
    re_path(
        r"^(?P<version>v\d+\.\d+)/(?P<page_id>[^/]+)/take_thread_control$",
        fake_graph.take_thread_control,
        name="fake-graph-take-thread-control",
    ),
    re_path(
        r"^(?P<version>v\d+\.\d+)/(?P<page_id>[^/]+)/pass_thread_control$",
        fake_graph.pass_thread_control,
        name="fake-graph-pass-thread-control",
    ),
    re_path(
        r"^(?P<version>v\d+\.\d+)/me/messaging_feature_review$",
        fake_graph.feature_review,
        name="fake-graph-feature-review",
    ),
    re_path(
        r"^(?P<version>v\d+\.\d+)/(?P<page_id>[^/]+)/subscribed_apps$",
        fake_graph.subscribed_apps,
        name="fake-graph-subscribed-apps",
    ),
    re_path(
        r"^(?P<version>v\d+\.\d+)/(?P<page_id>[^/]+)/conversations$",
        fake_graph.conversations,
        name="fake-graph-conversations",
    ),
    re_path(
        r"^(?P<version>v\d+\.\d+)/(?P<psid>[^/]+)$",
        fake_graph.profile,
        name="fake-graph-profile",
    ),
]
