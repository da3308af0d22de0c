from django.urls import path

from connect import search

urlpatterns = [
    path("", search.search, name="search"),
    path("<int:pk>/", search.transcript, name="search-transcript"),
    path("<int:pk>/older", search.older, name="search-older"),
    path("<int:pk>/newer", search.newer, name="search-newer"),
]
