"""The audit page's URLs, mounted at /audit/ (config/urls.py)."""

from django.urls import path

from frameworks.views import audit

app_name = "audit"

urlpatterns = [
    path("", audit.audit_page, name="page"),
    path("events/<int:pk>/", audit.audit_event, name="event"),
    path("export.csv", audit.audit_export, {"fmt": "csv"}, name="export-csv"),
    path("export.jsonl", audit.audit_export, {"fmt": "jsonl"}, name="export-jsonl"),
    path("evidence-pack/", audit.audit_pack, name="pack"),
]
