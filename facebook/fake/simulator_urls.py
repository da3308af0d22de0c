from django.urls import path

from facebook.fake import simulator

urlpatterns = [
    path("", simulator.simulator_page, name="simulator"),
    path("send", simulator.send, name="simulator-send"),
    path("conversation", simulator.conversation, name="simulator-conversation"),
    path("bot", simulator.bot, name="simulator-bot"),
    path("feedback", simulator.feedback, name="simulator-feedback"),
    path("meta-page", simulator.meta_page, name="simulator-meta-page"),
    path("fake-graph-mode", simulator.fake_graph_mode, name="simulator-fake-graph-mode"),
]
