"""Mounted under `office/lookups/` by config.urls."""

from django.urls import path

from lookups import office_views

urlpatterns = [
    path("", office_views.lookup_settings, name="lookups-settings"),
    path("links/new/", office_views.link_form, name="lookups-link-new"),
    path("links/<int:pk>/", office_views.link_form, name="lookups-link-edit"),
    path("links/<int:pk>/remove/", office_views.link_remove, name="lookups-link-remove"),
]
