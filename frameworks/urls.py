from django.urls import path

from frameworks.views import (
    audit,
    changes,
    editor,
    editor_json,
    editor_rows,
    health,
    oidc,
    people,
    review,
    targets,
    versions,
)
from frameworks.views import frameworks as pages

app_name = "frameworks"

urlpatterns = [
    path("", pages.framework_list, name="list"),
    # Target pages come before "<slug:target>/..." so that "targets" is never read as a slug.
    path("targets/", targets.target_list, name="target-list"),
    path("people/", people.people_list, name="people"),
    path("people/new/", people.person_new, name="person-new"),
    path("people/<int:pk>/", people.person_detail, name="person-detail"),
    path("people/<int:pk>/grant/", people.person_grant, name="person-grant"),
    path("people/<int:pk>/remove/", people.person_remove, name="person-remove"),
    path("people/<int:pk>/deactivate/", people.person_deactivate, name="person-deactivate"),
    path("people/<int:pk>/reactivate/", people.person_reactivate, name="person-reactivate"),
    path("people/<int:pk>/password/", people.person_password, name="person-password"),
    path("people/access/<int:pk>/confirm/", people.access_change_confirm, name="access-confirm"),
    path("people/access/<int:pk>/decline/", people.access_change_decline, name="access-decline"),
    path("targets/new/", targets.target_new, name="target-new"),
    path("targets/<slug:slug>/", targets.target_detail, name="target-detail"),
    path("targets/<slug:slug>/edit/", targets.target_edit, name="target-edit"),
    path("targets/<slug:slug>/retire/", targets.target_retire, name="target-retire"),
    path("targets/<slug:slug>/test/", targets.target_test, name="target-test"),
    path("<slug:target>/sync/", pages.target_sync, name="target-sync"),
    # Review, apply and editor URLs come before the framework catch-all, which
    # "changes/<pk>/" would match.
    path("review/", review.review_queue, name="review-queue"),
    path("changes/", changes.change_list, name="change-list"),
    path("changes/<int:pk>/", review.change_detail, name="change-detail"),
    path("changes/<int:pk>/submit/", review.change_submit, name="change-submit"),
    path("changes/<int:pk>/approve/", review.change_approve, name="change-approve"),
    path("changes/<int:pk>/reject/", review.change_reject, name="change-reject"),
    path("changes/<int:pk>/reopen/", review.change_reopen, name="change-reopen"),
    path("changes/<int:pk>/withdraw/", review.change_withdraw, name="change-withdraw"),
    path("changes/<int:pk>/rebase/", review.change_rebase, name="change-rebase"),
    path("changes/<int:pk>/comment/", review.change_comment, name="change-comment"),
    path("changes/<int:pk>/start-from/", review.change_start_from, name="change-start-from"),
    path(
        "changes/<int:pk>/apply-status/",
        review.change_apply_status,
        name="change-apply-status",
    ),
    path("changes/new/<slug:target>/", editor.change_new, name="change-new"),
    path("changes/<int:pk>/edit/", editor.change_edit, name="change-edit"),
    path("changes/<int:pk>/edit/check/", editor.change_check, name="change-check"),
    path("changes/<int:pk>/edit/control/", editor_rows.change_control, name="change-control"),
    path(
        "changes/<int:pk>/edit/add-control/",
        editor_rows.change_add_control,
        name="change-add-control",
    ),
    path(
        "changes/<int:pk>/edit/remove-control/",
        editor_rows.change_remove_control,
        name="change-remove-control",
    ),
    path(
        "changes/<int:pk>/edit/move-control/",
        editor_rows.change_move_control,
        name="change-move-control",
    ),
    path(
        "changes/<int:pk>/edit/add-parameter/",
        editor_rows.change_add_parameter,
        name="change-add-parameter",
    ),
    path(
        "changes/<int:pk>/edit/remove-parameter/",
        editor_rows.change_remove_parameter,
        name="change-remove-parameter",
    ),
    path("changes/<int:pk>/edit/to-json/", editor_json.change_to_json, name="change-to-json"),
    path("changes/<int:pk>/json/", editor_json.change_json, name="change-json"),
    path("changes/<int:pk>/json/to-form/", editor_json.change_to_form, name="change-to-form"),
    path("changes/<int:pk>/import/", editor_json.change_import, name="change-import"),
    path("changes/<int:pk>/discard/", editor.change_discard, name="change-discard"),
    path("changes/<int:pk>/deletion/", editor.change_deletion, name="change-deletion"),
    path("<slug:target>/<str:name>/propose/", editor.change_propose, name="change-propose"),
    path(
        "<slug:target>/<str:name>/propose-deletion/",
        editor.change_propose_deletion,
        name="change-propose-deletion",
    ),
    path(
        "<slug:target>/<str:name>/versions/",
        versions.framework_versions,
        name="framework-versions",
    ),
    path(
        "<slug:target>/<str:name>/versions/compare/",
        versions.framework_compare,
        name="framework-compare",
    ),
    path(
        "<slug:target>/<str:name>/versions/<int:row>/start-change/",
        versions.framework_start_from_version,
        name="framework-start-from-version",
    ),
    path("<slug:target>/<str:name>/", pages.framework_detail, name="detail"),
]

# Outside the "frameworks" namespace and prefix (config/urls.py includes them at the root): the
# login page, the OpenID Connect views under the names mozilla-django-oidc reverses, and the
# health URLs machines call.
site_urlpatterns = [
    path("accounts/login/", oidc.login, name="login"),
    path("oidc/authenticate/", oidc.authenticate, name="oidc_authentication_init"),
    path("oidc/callback/", oidc.callback, name="oidc_authentication_callback"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
]

#: The audit page, mounted at /audit/ with the namespace "audit" (config/urls.py).
audit_patterns = (
    [
        path("", audit.audit_page, name="page"),
        path("events/<int:pk>/", audit.audit_event, name="event"),
        path("export.csv", audit.audit_export, {"fmt": "csv"}, name="export-csv"),
        path("export.jsonl", audit.audit_export, {"fmt": "jsonl"}, name="export-jsonl"),
        path("evidence-pack/", audit.audit_pack, name="pack"),
    ],
    "audit",
)
