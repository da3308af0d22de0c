from django.contrib import admin
from django.urls import include, path

from connect import metrics, views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("facebook/", include("facebook.urls")),
    # Supervisors: the live board and reports; operators: Prometheus metrics.
    path("", include("connect.board_urls")),
    path("metrics", metrics.metrics, name="metrics"),
    path("", include("connect.desktop_urls")),
    path("search/", include("connect.search_urls")),
    # Always routed; the views answer 404 unless settings.FACEBOOK_SIMULATOR is on.
    path("fake-graph/", include("facebook.fake.graph_urls")),
    path("simulator/", include("facebook.fake.simulator_urls")),
]
