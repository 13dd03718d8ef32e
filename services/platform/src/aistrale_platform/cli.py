"""`aistrale-platform run`: migrate, then serve every service on one port."""

from __future__ import annotations

import argparse
import asyncio
import sys

import uvicorn

from aistrale_analytics.migrate import migrate as migrate_analytics
from aistrale_analytics.settings import Settings as AnalyticsSettings
from aistrale_common.events import open_event_bus
from aistrale_common.logging import configure_logging
from aistrale_platform.app import create_platform
from aistrale_platform.settings import Settings
from aistrale_router.migrate import migrate as migrate_router
from aistrale_router.settings import Settings as RouterSettings
from aistrale_userorg.migrate import migrate as migrate_userorg
from aistrale_userorg.settings import Settings as UserOrgSettings

NEXT_STEPS = """
AISTRALE is up on {base}
  health:     curl {base}/ready
  admin docs: {base}/admin/v1/docs
  next:       see README.md, "First hour" (create an org, a key, then call /v1 with the
              OpenAI SDK: base_url="{base}/v1")
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="aistrale-platform")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="migrate and serve all services on one port")
    commands.add_parser("migrate", help="apply every service's migrations and exit")
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    router, userorg, analytics = RouterSettings(), UserOrgSettings(), AnalyticsSettings()
    migrate_userorg(userorg)
    migrate_router(router)
    migrate_analytics(analytics)
    if args.command == "migrate":
        return
    asyncio.run(_serve(settings, router, userorg, analytics))


async def _serve(
    settings: Settings,
    router: RouterSettings,
    userorg: UserOrgSettings,
    analytics: AnalyticsSettings,
) -> None:
    bus = await open_event_bus(settings.amqp_url)
    app = create_platform(bus, router=router, userorg=userorg, analytics=analytics)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
    server = uvicorn.Server(config)
    base = f"http://{settings.host}:{settings.port}"
    announce = asyncio.create_task(_announce_when_started(server, base))
    try:
        await server.serve()
    finally:
        announce.cancel()
        await bus.close()


async def _announce_when_started(server: uvicorn.Server, base: str) -> None:
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    print(NEXT_STEPS.format(base=base), file=sys.stderr, flush=True)
