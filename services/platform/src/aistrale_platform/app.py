"""`create_platform()`: user-org, api-router and analytics in one process on one port.

The services share one event bus (in-process by default) so the router's usage events
reach analytics and user-org's control events reach the router, exactly as over RabbitMQ.
"""

from __future__ import annotations

from aistrale_analytics.app import create_app as create_analytics
from aistrale_analytics.settings import Settings as AnalyticsSettings
from aistrale_common.events import EventBus
from aistrale_platform.dispatch import PlatformApp
from aistrale_router.app import create_app as create_router
from aistrale_router.settings import Settings as RouterSettings
from aistrale_userorg.app import create_app as create_userorg
from aistrale_userorg.settings import Settings as UserOrgSettings

PREFIXES = (
    ("/v1", "api-router"),
    ("/admin/v1", "user-org"),
    ("/internal/v1", "user-org"),
    ("/analytics/v1", "analytics"),
)


def create_platform(
    bus: EventBus,
    *,
    router: RouterSettings | None = None,
    userorg: UserOrgSettings | None = None,
    analytics: AnalyticsSettings | None = None,
) -> PlatformApp:
    services = {
        "user-org": create_userorg(userorg or UserOrgSettings(), bus=bus),
        "api-router": create_router(router or RouterSettings(), bus=bus),
        "analytics": create_analytics(analytics or AnalyticsSettings(), bus=bus),
    }
    return PlatformApp(services, PREFIXES, default="api-router")
