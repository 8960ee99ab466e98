"""Mounted under `ledger/` by config.urls."""

from django.urls import path

from sync import import_views

urlpatterns = [
    path("import/", import_views.start, name="sync-import"),
    path("import/<int:pk>/", import_views.run_detail, name="sync-import-run"),
]
