from django.urls import path

from relations.office import remember_view
from relations.views import listing, pages, parts, team

urlpatterns = [
    # The list, its bulk actions and its export (relations/views/listing.py).
    path("", listing.relation_list, name="relations-list"),
    path("bulk/", listing.bulk, name="relations-bulk"),
    path("export.csv", listing.export_csv, name="relations-export"),
    path("export.xlsx", listing.export_xlsx, name="relations-export-xlsx"),
    # One relation (relations/views/pages.py).
    path("new/", pages.new, name="relations-new"),
    path("<uuid:public_id>/", remember_view(pages.detail), name="relations-detail"),
    path("<uuid:public_id>/tab/<slug:tab>/", pages.detail, name="relations-tab"),
    path("<uuid:public_id>/edit/", pages.edit, name="relations-edit"),
    path(
        "<uuid:public_id>/convert-to-client/",
        pages.convert_to_client,
        name="relations-convert-to-client",
    ),
    path(
        "<uuid:public_id>/convert-to-private/",
        pages.convert_to_private,
        name="relations-convert-to-private",
    ),
    path(
        "<uuid:public_id>/convert-to-company/",
        pages.convert_to_company,
        name="relations-convert-to-company",
    ),
    path("<uuid:public_id>/archive/", pages.archive, name="relations-archive"),
    path("<uuid:public_id>/restore/", pages.restore, name="relations-restore"),
    path("<uuid:public_id>/reveal-bsn/", pages.reveal_bsn, name="relations-reveal-bsn"),
    # Addresses, bank accounts and agreements, edited inline with htmx (relations/views/parts.py).
    path("<uuid:public_id>/addresses/new/", parts.address_form, name="relations-address-new"),
    path(
        "<uuid:public_id>/addresses/<int:pk>/edit/",
        parts.address_form,
        name="relations-address-edit",
    ),
    path(
        "<uuid:public_id>/addresses/<int:pk>/remove/",
        parts.address_remove,
        name="relations-address-remove",
    ),
    path("<uuid:public_id>/banks/new/", parts.bank_form, name="relations-bank-new"),
    path("<uuid:public_id>/banks/<int:pk>/edit/", parts.bank_form, name="relations-bank-edit"),
    path(
        "<uuid:public_id>/banks/<int:pk>/remove/", parts.bank_remove, name="relations-bank-remove"
    ),
    path("<uuid:public_id>/agreements/new/", parts.agreement_form, name="relations-agreement-new"),
    path(
        "<uuid:public_id>/agreements/<int:pk>/edit/",
        parts.agreement_form,
        name="relations-agreement-edit",
    ),
    path(
        "<uuid:public_id>/agreements/<int:pk>/end/",
        parts.agreement_end,
        name="relations-agreement-end",
    ),
    path("<uuid:public_id>/team/add/", team.team_add, name="relations-team-add"),
    path("<uuid:public_id>/team/<int:pk>/remove/", team.team_remove, name="relations-team-remove"),
]
