"""The emulator's model of AWS: one object, one lock, optionally saved to a file.

``model.State`` holds it; its run-time controls are ``controls.RunTimeControls``, a framework is
``framework.Framework``, the operation names are in ``operations``.

Everything the HTTP layer or a test can change lives here (frameworks and their tags, remembered
idempotency tokens, IAM roles and STS sessions, AWS Config recording, injected faults, the call
log, the configuration, the clock), behind a single ``threading.RLock`` so concurrent requests see
AWS-like serial behaviour.

The clock is ``time.time()`` plus an offset that ``advance_clock`` moves forward, so a test can
expire STS credentials or finish deployments without sleeping.

Configuration (``configure``), roles and recording have start values (the constructor's, plus
what ``--seed demo`` sets through ``set_defaults``); ``reset()`` returns to them. The state file
keeps frameworks, tokens and the issued STS sessions, so credentials a client holds survive a
restart; roles and recording come from the command line and the seed each start.

Deployment is modelled lazily: a create/update/delete sets ``deploy_until`` (wall-clock seconds, so
it survives a restart from ``--state``) and every access first "settles" the frameworks whose time
has come: ``*_IN_PROGRESS`` becomes ``COMPLETED`` or ``FAILED``, and a finished delete removes the
framework.

Choices where AWS's behaviour is not public:

* An identical UpdateFramework redeploys (UPDATE_IN_PROGRESS again) and changes nothing else.
* Only successful answers are remembered per (account, Region, operation, IdempotencyToken); an
  error is not, so a retry after ServiceUnavailableException really runs. The same token with a
  different body replays the first answer too. Tokens are remembered until ``reset()``.
* A forced deployment failure (``fail_next_deployment``) of a delete leaves the framework in place
  with DeploymentStatus FAILED.
* Frameworks whose delete is still running count towards the quotas and the duplicate-controls
  rule, and keep their name taken.
* DescribeFramework returns controls sorted by name and parameters sorted by name, not in the order
  sent: AWS may reorder them (Terraform treats them as sets), so a product must not compare by
  position. ListFrameworks pages through names in sorted order; its NextToken is base64 of
  (account, Region, last name), so paging survives creates and deletes between pages.
* A name that breaks the name pattern in the URI of Describe/Update/Delete answers
  InvalidParameterValueException rather than ResourceNotFoundException.
* The call log keeps the last 10,000 calls, so a long demo run does not grow without bound.
"""

from __future__ import annotations

from .controls import MAX_CALLS
from .framework import Framework
from .model import State
from .operations import (
    BACKUP_OPERATIONS,
    CONFIG_OPERATIONS,
    FRAMEWORK_OPERATIONS,
    OPERATIONS,
    STS_OPERATIONS,
)

__all__ = [
    "BACKUP_OPERATIONS",
    "CONFIG_OPERATIONS",
    "FRAMEWORK_OPERATIONS",
    "MAX_CALLS",
    "OPERATIONS",
    "STS_OPERATIONS",
    "Framework",
    "State",
]
