"""`aistrale-platform run` and `migrate`: every service's migrations, then one port."""

from __future__ import annotations

import asyncio
import sys

import uvloop

from aistrale_analytics.migrate import migrate as migrate_analytics
from aistrale_analytics.settings import Settings as AnalyticsSettings
from aistrale_common.app import app_drain
from aistrale_common.events import open_event_bus
from aistrale_common.shutdown import DrainingServer, server_config
from aistrale_platform.admin import AdminCredentials, first_admin
from aistrale_platform.app import create_platform
from aistrale_platform.banner import announce
from aistrale_platform.settings import Settings
from aistrale_router.migrate import migrate as migrate_router
from aistrale_router.settings import Settings as RouterSettings
from aistrale_userorg.migrate import migrate as migrate_userorg
from aistrale_userorg.settings import Settings as UserOrgSettings


def run(settings: Settings, *, serve: bool) -> None:
    admin = first_admin(settings)
    router, userorg, analytics = RouterSettings(), _userorg_settings(admin), AnalyticsSettings()
    migrate_userorg(userorg)
    migrate_router(router)
    migrate_analytics(analytics)
    if serve:
        # uvloop, as uvicorn picks for the services it runs itself (`Server.run`): about a
        # third of a millisecond per request on this path (docs/router.md, make bench).
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_serve(settings, admin, router, userorg, analytics))


def _userorg_settings(admin: AdminCredentials | None) -> UserOrgSettings:
    if admin is None:
        return UserOrgSettings()
    return UserOrgSettings(admin_email=admin.email, admin_password=admin.password)


async def _serve(
    settings: Settings,
    admin: AdminCredentials | None,
    router: RouterSettings,
    userorg: UserOrgSettings,
    analytics: AnalyticsSettings,
) -> None:
    bus = await open_event_bus(settings.amqp_url)
    app = create_platform(
        bus, router=router, userorg=userorg, analytics=analytics, platform=settings
    )
    config = server_config(
        app,
        host=settings.host,
        port=settings.port,
        grace_s=settings.shutdown_grace_s,
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
    )
    server = DrainingServer(config, [app_drain(service) for service in app.services.values()])
    announcing = asyncio.create_task(announce(server, settings, admin, app.components, sys.stderr))
    try:
        await server.serve()
    finally:
        announcing.cancel()
        await bus.close()
