"""The one authorization source for other services: analytics sends who (the token's
user), what (its action) and where (the org); the same Rego policy as every admin route
decides, on roles read from the database now (no claim from the token is trusted)."""

from __future__ import annotations

from aistrale_common.auth.authorize import AuthorizeDecision, AuthorizeRequest
from aistrale_common.errors import AuthenticationFailed
from aistrale_userorg.context import Context
from aistrale_userorg.principal import Principal
from aistrale_userorg.users.service import principal_for


async def decide(ctx: Context, actor: Principal, ask: AuthorizeRequest) -> AuthorizeDecision:
    ctx.authz.check(actor, "internal.authorize")
    try:
        principal = await principal_for(ctx, ask.user_id, None, mfa=ask.mfa)
    except AuthenticationFailed:
        return AuthorizeDecision(decision="unauthenticated")
    if ctx.authz.allows(principal, ask.action, ask.org_id):
        return AuthorizeDecision(decision="allow")
    if not principal.platform_admin and principal.role_in(ask.org_id) is None:
        return AuthorizeDecision(decision="not_found")
    return AuthorizeDecision(decision="forbidden")
