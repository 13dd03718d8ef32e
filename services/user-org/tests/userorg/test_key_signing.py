"""Keys created with require_signature: the signing secret is shown once, sealed at rest,
never in the key's other answers, and handed to the router by the key lookup."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from aistrale_testkit.userorg import Running
from aistrale_userorg.tables import api_keys


async def test_signing_secret_shown_once_and_given_to_the_router(pg_app: Running) -> None:
    org_id = await pg_app.new_org("signing")
    created = await pg_app.new_key(org_id, require_signature=True)
    secret = created["signing_secret"]
    assert secret.startswith("ss-") and len(secret) > 40
    plain = await pg_app.new_key(org_id)
    assert plain["signing_secret"] is None

    shown = await pg_app.client.get(
        f"/admin/v1/orgs/{org_id}/keys/{created['id']}", headers=await pg_app.root()
    )
    assert secret not in shown.text and "signing_secret" not in shown.json()
    async with pg_app.ctx.db.session() as session:
        stored = (await session.execute(sa.select(api_keys.c.signing_secret_sealed))).scalars()
        assert all(secret not in (value or "") for value in stored)

    digest = hashlib.sha256(created["key"].encode()).hexdigest()
    lookup = await pg_app.client.get(f"/internal/v1/keys/{digest}", headers=pg_app.service())
    assert lookup.status_code == 200 and lookup.json()["signing_secret"] == secret
    other = hashlib.sha256(plain["key"].encode()).hexdigest()
    unsigned = await pg_app.client.get(f"/internal/v1/keys/{other}", headers=pg_app.service())
    assert unsigned.json()["signing_secret"] is None
