"""The `make run` topology: `aistrale-platform run`, the one process a fresh clone starts,
with its embedded adapters (SQLite, in-process limits and event bus) and every consumer on.

Only what a user of `make run` would set differs from the defaults: a fresh data directory,
the first admin's credentials, a models.yaml whose model is the mock upstream, and no local
model (AISTRALE_LOCAL_MODEL=0; it would install a compiled server on first start).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from aistrale_testkit.processes import python_module_argv, service_process
from aistrale_testkit.tcp_proxy import free_port
from bench.admin import ADMIN_EMAIL, AdminClient, admin_password, provision
from bench.catalog import write_models
from bench.consumers import ConsumerProbe
from bench.target import COMPLETIONS, Target, with_env


@contextlib.contextmanager
def platform_run(workdir: Path, upstream: str, *, limits: bool = True) -> Iterator[Target]:
    workdir.mkdir(parents=True, exist_ok=True)
    port, password = free_port(), admin_password()
    env = {
        "AISTRALE_PORT": str(port),
        "AISTRALE_DATA_DIR": str(workdir / "data"),
        "AISTRALE_LOCAL_MODEL": "0",
        "AISTRALE_ADMIN_EMAIL": ADMIN_EMAIL,
        "AISTRALE_ADMIN_PASSWORD": password,
        "AISTRALE_MODELS_FILE": str(write_models(workdir / "models.yaml", upstream)),
    }
    argv = python_module_argv("aistrale-platform", "run")  # what `make run` runs
    with service_process(argv, port, env, log_path=workdir / "platform.log") as base:
        admin = AdminClient(base, ADMIN_EMAIL, password)
        try:
            tenant = provision(admin, limits=limits)
            probe = ConsumerProbe(admin, tenant, base + "/metrics", base)
            components = {"platform": with_env("aistrale-platform run", f"AISTRALE_PORT={port}")}
            features = {
                "command": "aistrale-platform run (make run)",
                "key_auth": "user-org in process, real org/key/budget via the admin API",
                "usage_events": "in-process bus, analytics + last-used consumers",
                "limits_and_budget": "in-process",
                "databases": "SQLite",
            }
            url = base + COMPLETIONS
            yield Target("run", url, tenant.authorization, components, probe, features)
        finally:
            admin.close()
