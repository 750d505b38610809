from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from frameworks.views import health, oidc

admin.site.site_header = "Backup frameworks administration"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="frameworks:list", permanent=False)),
    path("accounts/login/", oidc.login, name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("oidc/authenticate/", oidc.authenticate, name="oidc_authentication_init"),
    path("oidc/callback/", oidc.callback, name="oidc_authentication_callback"),
    path("admin/", admin.site.urls),
    path("frameworks/", include("frameworks.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
]
