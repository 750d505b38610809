"""Every state change goes through a function here: guard, mutate, record.

Each service is one transaction: it checks who is asking (``access.can``) and the current state,
moves the change with a conditional UPDATE on its ``version`` (and state) and checks the row
count, then appends its history row in the same transaction. A refusal raises
``TransitionRefused`` (``PermissionRefused`` when it is about who asked; views answer 403),
changes nothing, and is itself recorded: the attempted transaction is rolled back and the
refused row is written in a transaction of its own.

The transitions:

    draft      → submitted (submit) | withdrawn (discard) | draft (save, rebase)
    submitted  → approved (enough approvals) | rejected | draft (reopen) | withdrawn | stale
    approved   → applying (claim) | withdrawn (author or admin) | stale
    applying   → applied | failed | approved (lease expired) | stale (worker saw drift)
               | unconfirmed (AWS accepted; the deployment's end not seen in time)
    unconfirmed → applied | failed | stale (settled by sync or the reconciler from what AWS
               holds; it holds its framework meanwhile)
    stale      → draft (rebase)
    applied, failed, rejected, withdrawn: final; start_from opens a new draft.

Sync or the reconciler also settles an approved change whose write already landed (its worker
died after AWS accepted it): approved → applied | failed, as the worker would have.
``models.STATE_RULES`` says which states hold a framework, are final or are still in flight.

Where each lives: ``base`` (the transaction, refusals and shared guards), ``drafts`` (the
author's side), ``review`` (submit to approve or reject), ``actions`` (which of them a person
may take now, asked of their guards, for the page's buttons), ``targets`` (administrators'
targets), ``access`` (accounts, passwords and roles, and their second administrator),
``worker`` (the apply worker's transitions), ``live`` (what a DescribeFramework answer
means for a change: a landed write or drift) and ``sync`` (mirroring AWS). This face is for
views, commands and tests; the worker (``apply``, ``tasks``) imports
``services.worker`` and ``services.sync`` directly.
"""

from __future__ import annotations

from frameworks.services.access import (
    access_change_confirm,
    access_change_decline,
    may_confirm,
    person_create,
    person_deactivate,
    person_reactivate,
    person_reset_password,
    role_grant,
    role_remove,
    roles_from_identity_provider,
)
from frameworks.services.actions import AllowedActions, allowed_actions
from frameworks.services.audit import history_record_export
from frameworks.services.base import PermissionRefused, TransitionRefused
from frameworks.services.drafts import (
    change_request_check_editor,
    change_request_create_draft,
    change_request_discard,
    change_request_findings,
    change_request_open_draft,
    change_request_save_draft,
    change_request_start_from,
    change_request_start_from_version,
)
from frameworks.services.live import mirror_document
from frameworks.services.review import (
    change_request_approve,
    change_request_comment,
    change_request_rebase,
    change_request_reject,
    change_request_reopen,
    change_request_submit,
    change_request_withdraw,
)
from frameworks.services.signin import (
    signin_record_failure,
    signin_record_lockout,
    signin_record_success,
)
from frameworks.services.sync import SyncResult, sync_all, target_sync
from frameworks.services.targets import (
    ConnectionTest,
    target_add,
    target_change,
    target_retire,
    target_test_connection,
)
from frameworks.services.worker import (
    change_request_claim,
    change_request_mark_applied,
    change_request_mark_failed,
    change_request_mark_stale,
    change_request_mark_unconfirmed,
    change_request_record_attempt,
    change_request_record_deployment_status,
    change_request_refuse_to_send,
    change_request_release_expired,
    change_request_settle,
)

__all__ = [
    "AllowedActions",
    "ConnectionTest",
    "PermissionRefused",
    "SyncResult",
    "TransitionRefused",
    "access_change_confirm",
    "access_change_decline",
    "allowed_actions",
    "change_request_approve",
    "change_request_check_editor",
    "change_request_claim",
    "change_request_comment",
    "change_request_create_draft",
    "change_request_discard",
    "change_request_findings",
    "change_request_mark_applied",
    "change_request_mark_failed",
    "change_request_mark_stale",
    "change_request_mark_unconfirmed",
    "change_request_open_draft",
    "change_request_rebase",
    "change_request_record_attempt",
    "change_request_record_deployment_status",
    "change_request_refuse_to_send",
    "change_request_reject",
    "change_request_release_expired",
    "change_request_reopen",
    "change_request_save_draft",
    "change_request_settle",
    "change_request_start_from",
    "change_request_start_from_version",
    "change_request_submit",
    "change_request_withdraw",
    "history_record_export",
    "may_confirm",
    "mirror_document",
    "person_create",
    "person_deactivate",
    "person_reactivate",
    "person_reset_password",
    "role_grant",
    "role_remove",
    "roles_from_identity_provider",
    "signin_record_failure",
    "signin_record_lockout",
    "signin_record_success",
    "sync_all",
    "target_add",
    "target_change",
    "target_retire",
    "target_sync",
    "target_test_connection",
]
