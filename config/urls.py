from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

from frameworks.urls import audit_patterns, site_urlpatterns

admin.site.site_header = "Backup frameworks administration"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="frameworks:list", permanent=False)),
    # The login page, sign-in through the identity provider and the health URLs: before
    # Django's auth URLs, so this login page is the one served.
    path("", include(site_urlpatterns)),
    path("accounts/", include("django.contrib.auth.urls")),
    # One sign-in page for everything: the admin's own would bypass the console's recording.
    path(
        "admin/login/",
        login_not_required(
            RedirectView.as_view(pattern_name="login", query_string=True, permanent=False)
        ),
    ),
    path("admin/", admin.site.urls),
    path("frameworks/", include("frameworks.urls")),
    path("audit/", include(audit_patterns)),
]
