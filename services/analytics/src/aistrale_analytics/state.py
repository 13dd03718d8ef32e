"""What analytics' lifespan opens and its requests use: the service state
(aistrale_common.service_state), read by endpoints through deps.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aistrale_analytics.authz.decisions import UserOrgAuthorizer
from aistrale_analytics.exports.service import ExportService
from aistrale_analytics.exports.worker import ExportWorker
from aistrale_analytics.request_log.service import RequestLogService
from aistrale_analytics.settings import Settings
from aistrale_analytics.usage.service import UsageService
from aistrale_common.auth.sessions import Revocations
from aistrale_common.health import Check
from aistrale_common.resources import CoreResources
from aistrale_common.sessions import SessionManager


@dataclass
class AnalyticsState:
    settings: Settings
    core: CoreResources
    usage: UsageService
    exports: ExportService
    export_worker: ExportWorker
    revocations: Revocations  # ended sessions, shared with user-org
    authorizer: UserOrgAuthorizer  # asks user-org's policy, cached until a control event
    sessions: SessionManager  # the console's cookie sessions, user-org's store
    request_log: RequestLogService

    def checks(self) -> Mapping[str, Check]:
        return self.core.checks()
