"""Invite (an org manager) and accept (the invitee), no FastAPI here.

Inviting reads no user row, so its answer and its timing are the same whether or not an
account has the email, and nobody is added without consent: the invitee proves it with
the account's password, or chooses the password of the account the acceptance creates.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_common.errors import AuthenticationFailed
from aistrale_userorg.context import Context
from aistrale_userorg.invitations import repository as repo
from aistrale_userorg.invitations.schemas import Invitation, InvitationAccept, InvitationCreate
from aistrale_userorg.members import repository as members_repo
from aistrale_userorg.members.schemas import MemberPublic
from aistrale_userorg.orgs.service import load as load_org
from aistrale_userorg.principal import Principal, anonymous
from aistrale_userorg.security import (
    INVITATION_PREFIX,
    hash_password,
    new_secret,
    sha256_hex,
    verify_password,
)
from aistrale_userorg.users import repository as users_repo
from aistrale_userorg.util import as_utc, integrity_as_conflict, new_id, utcnow

BAD_ACCEPT = "Invalid or expired invitation, or wrong password"


async def invite(ctx: Context, actor: Principal, org_id: str, body: InvitationCreate) -> Invitation:
    token = new_secret(INVITATION_PREFIX)
    now = utcnow()
    row: dict[str, Any] = {
        "id": new_id(),
        "org_id": org_id,
        "email": body.email,
        "role": body.role,
        "token_hash": sha256_hex(token),
        "created_by": actor.id,
        "created_at": now,
        "expires_at": now + timedelta(seconds=ctx.settings.invitation_ttl_s),
    }
    async with ctx.uow.write(actor, "member.add", org_id=org_id, target=body.email) as tx:
        ctx.authz.check(actor, "member.add", org_id, {"new_role": body.role})
        await load_org(tx.session, org_id)
        await repo.insert(tx.session, **row)
        tx.about.details = {"role": body.role, "invitation": row["id"]}
    return Invitation(**row, token=token)


async def accept(ctx: Context, body: InvitationAccept, ip: str | None) -> MemberPublic:
    actor = anonymous(ip)
    rounds = ctx.settings.bcrypt_rounds
    new_hash = await hash_password(body.password, rounds)  # either way: the same work
    async with ctx.uow.write(actor, "invitation.accept") as tx:
        ctx.authz.check(actor, "invitation.accept")
        invitation = await repo.by_hash(tx.session, sha256_hex(body.token))
        if invitation is None or not _open(invitation):
            raise AuthenticationFailed(BAD_ACCEPT, code="invalid_invitation")
        tx.about.org_id, tx.about.target = invitation["org_id"], invitation["email"]
        user_id = await _invitee(tx.session, invitation["email"], body.password, new_hash, rounds)
        with integrity_as_conflict("You are already a member of this org", "token"):
            await members_repo.insert(
                tx.session, invitation["org_id"], user_id, invitation["role"], utcnow()
            )
        await repo.mark_accepted(tx.session, invitation["id"], utcnow())
        tx.about.details = {"role": invitation["role"], "user_id": user_id}
        tx.emit("user.updated", invitation["org_id"], user_id=user_id)
        member = await members_repo.get(tx.session, invitation["org_id"], user_id)
    assert member is not None
    return MemberPublic(org_id=invitation["org_id"], **member)


def _open(invitation: dict[str, Any]) -> bool:
    return invitation["accepted_at"] is None and as_utc(invitation["expires_at"]) > utcnow()


async def _invitee(
    session: AsyncSession, email: str, password: str, new_hash: str, rounds: int
) -> str:
    user = await users_repo.by_email(session, email)
    if user is not None:
        if not await verify_password(password, user["password_hash"], rounds):
            raise AuthenticationFailed(BAD_ACCEPT, code="invalid_invitation")
        return str(user["id"])
    user_id = new_id()
    with integrity_as_conflict("A user with this email already exists", "token"):
        await users_repo.insert_user(
            session, id=user_id, email=email, password_hash=new_hash, created_at=utcnow()
        )
    return user_id
