from django.urls import path

from lookups import views

urlpatterns = [
    path("<uuid:public_id>/tools/vat-check/", views.vat_check, name="lookups-vat-check"),
    path("<uuid:public_id>/tools/vcard/", views.vcard_download, name="lookups-vcard"),
    path(
        "<uuid:public_id>/tools/links/<int:pk>/", views.link_override, name="lookups-link-override"
    ),
]
