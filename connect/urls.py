from django.contrib import admin
from django.urls import include, path

from connect import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("facebook/", include("facebook.urls")),
    path("", include("connect.desktop_urls")),
    # Always routed; the views answer 404 unless settings.FACEBOOK_SIMULATOR is on.
    path("fake-graph/", include("facebook.fake_graph_urls")),
    path("simulator/", include("facebook.simulator_urls")),
]
