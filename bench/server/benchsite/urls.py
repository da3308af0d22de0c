from django.conf import settings
from django.urls import include, path

from benchsite import views

urlpatterns = [
    path("bench/empty", views.empty, name="bench-empty"),
    path("bench/floor", views.floor, name="bench-floor"),
    path("bench/statements", views.statement_counts, name="bench-statements"),
    path("", include(settings.BENCH_PROJECT_URLCONF)),
]
