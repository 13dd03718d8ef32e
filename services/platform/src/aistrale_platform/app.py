"""`create_platform()`: user-org, api-router and analytics in one process on one port.

The services share one event bus (in-process by default) so the router's usage events
reach analytics and user-org's control events reach the router, exactly as over RabbitMQ.
The router reaches user-org's key lookup, and analytics its authorization, in process (an
ASGI transport, no loopback hop).
Beside them runs the local model server (a child process), unless AISTRALE_LOCAL_MODEL=0.
"""

from __future__ import annotations

import httpx

from aistrale_analytics.app import create_app as create_analytics
from aistrale_analytics.settings import Settings as AnalyticsSettings
from aistrale_common.console_site import PREFIX as CONSOLE_PREFIX
from aistrale_common.console_site import ConsoleSite
from aistrale_common.events import EventBus
from aistrale_common.kv import MemoryKV
from aistrale_common.sessions import MemorySessionStore
from aistrale_platform.console.component import Console
from aistrale_platform.dispatch import Component, PlatformApp
from aistrale_platform.localmodel.component import LocalModel
from aistrale_platform.settings import Settings
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
    platform: Settings | None = None,
) -> PlatformApp:
    """The local model runs only when `platform` settings are given (the CLI gives them):
    an app built in a test never starts installing a compiled server by surprise."""
    userorg = userorg or UserOrgSettings()
    kv = MemoryKV()  # revoked sessions, throttles: one store that every service sees
    # One in-process console session store for user-org and analytics (none when Redis is
    # configured: then each uses Redis, as in Kubernetes).
    sessions = None if userorg.redis_url else MemorySessionStore()
    userorg_app = create_userorg(userorg, bus=bus, kv=kv, sessions=sessions)
    to_userorg = httpx.ASGITransport(userorg_app)
    # Started in this order and stopped in the reverse one: the usage consumers (analytics,
    # user-org's last-used) subscribe before the router serves, and are still consuming when
    # it flushes its last usage events at shutdown.
    services = {
        "user-org": userorg_app,
        "analytics": create_analytics(
            analytics or AnalyticsSettings(),
            bus=bus,
            kv=kv,
            userorg_transport=to_userorg,
            sessions=sessions,
        ),
        "api-router": create_router(
            router or RouterSettings(), bus=bus, userorg_transport=to_userorg
        ),
    }
    site = ConsoleSite()
    components: list[Component] = []
    if platform is not None:
        components = [LocalModel(platform), Console(platform, site)]
    return PlatformApp(
        services,
        PREFIXES,
        default="api-router",
        components=components,
        mounts=[(CONSOLE_PREFIX, site)],
    )
