from django.urls import path

from frameworks import views, views_apply, views_review
from frameworks import views_editor as editor  # the editor (issue 5)
from frameworks import views_editor_json as editor_json
from frameworks import views_editor_rows as editor_rows

app_name = "frameworks"

urlpatterns = [
    path("", views.framework_list, name="list"),
    path("<slug:target>/sync/", views.target_sync, name="target-sync"),
    # --- review (issue 6): before the framework catch-all, which "changes/<pk>/" would match ---
    path("review/", views_review.review_queue, name="review-queue"),
    path("changes/<int:pk>/", views_review.change_detail, name="change-detail"),
    path("changes/<int:pk>/submit/", views_review.change_submit, name="change-submit"),
    path("changes/<int:pk>/approve/", views_review.change_approve, name="change-approve"),
    path("changes/<int:pk>/reject/", views_review.change_reject, name="change-reject"),
    path("changes/<int:pk>/reopen/", views_review.change_reopen, name="change-reopen"),
    path("changes/<int:pk>/withdraw/", views_review.change_withdraw, name="change-withdraw"),
    path("changes/<int:pk>/rebase/", views_review.change_rebase, name="change-rebase"),
    path("changes/<int:pk>/comment/", views_review.change_comment, name="change-comment"),
    path("changes/<int:pk>/start-from/", views_review.change_start_from, name="change-start-from"),
    # --- end review ---
    # --- apply (issue 7) ---
    path(
        "changes/<int:pk>/apply-status/",
        views_apply.change_apply_status,
        name="change-apply-status",
    ),
    # --- end apply ---
    # --- editor (issue 5): also before the catch-all; names are "change-<action>" ---
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
    # --- end editor ---
    path("<slug:target>/<str:name>/", views.framework_detail, name="detail"),
]
