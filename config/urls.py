from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from collab import urls as collab_urls

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("relations/", include("relations.urls")),
    path("office/", include("relations.office_urls")),
    path("relations/", include("connections.urls")),
    path("relations/", include("lookups.urls")),
    path("office/lookups/", include("lookups.office_urls")),
    path("relations/", include("collab.urls")),
    path("portal/", include("portal.urls")),
    path("portal/", include(collab_urls.portal_urlpatterns)),
    path("", include(collab_urls.inbox_urlpatterns)),
    path("", include("sync.ledger_urls")),
    path("ledger/", include("sync.urls")),
    path("", include("work.urls")),
    path("", include("practice.urls")),
]

admin.site.site_header = "Kring"
admin.site.site_title = "Kring"
