from django.urls import path

from sync import views

urlpatterns = [
    path("relations/<uuid:public_id>/ledger/retry/", views.retry, name="sync-retry"),
    path("relations/<uuid:public_id>/ledger/send-now/", views.send_now, name="sync-send-now"),
    path("relations/<uuid:public_id>/ledger/keep-kring/", views.keep_kring, name="sync-keep-kring"),
    path(
        "relations/<uuid:public_id>/ledger/take-ledger/", views.take_ledger, name="sync-take-ledger"
    ),
    path("ledger/settings/", views.ledger_settings, name="sync-settings"),
]
