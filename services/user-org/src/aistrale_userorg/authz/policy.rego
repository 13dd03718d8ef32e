# AISTRALE user-org authorization: the one policy, deny by default.
#
# input.principal: {kind: anonymous|user|service, id, platform_admin, orgs: {org_id: role}}
# input.action:    the route's action name (see ACTIONS in engine.py)
# input.org_id:    the org the route addresses, when it addresses one
# input.resource:  facts about the target (created_by, current_role, new_role, user_id)
package aistrale.authz

import rego.v1

default allow := false

# Routes that authenticate by their own means (password, refresh token, admin key).
public_actions := {"auth.token", "auth.logout", "invitation.accept"}

# The router's service token may look keys and org provider credentials up, nothing else.
service_actions := {
	"internal.keys.read", "internal.credentials.read", "internal.authorize",
	"internal.prompts.read", "internal.guardrails.read",
}

# Any signed-in user, about themselves.
self_actions := {"self.read", "self.password", "self.admin_keys", "self.sessions", "self.mfa", "org.list"}

# usage.* are analytics' actions: it asks this policy through /internal/v1/authorize.
readers := {
	"org.read", "member.read", "key.read", "budget.read", "usage.read",
	"prompt.read", "guardrail.read",
}

# Stored request bodies (prompts and answers) are the org's data at its most sensitive:
# owners and admins only, to switch on and to read. Data residency (org.residency) is in no
# role: a compliance commitment the platform makes, so platform admins set it.

# Provider credentials (BYOK) are the org's upstream bill: owners and admins only, even to
# list them. Rotating the KEK is in no role: platform admins only.
credential_actions := {"credential.read", "credential.write"}

owner_actions := (readers | credential_actions) | {
	"org.update", "org.delete", "member.add", "member.update", "member.remove",
	"key.create", "key.update", "key.revoke", "budget.write", "audit.read", "usage.export",
	"logging.write", "usage.read_bodies", "prompt.write", "guardrail.write",
}

admin_actions := (readers | credential_actions) | {
	"org.update", "member.add", "member.update", "member.remove",
	"key.create", "key.update", "key.revoke", "budget.write", "usage.export",
	"logging.write", "usage.read_bodies", "prompt.write", "guardrail.write",
}

member_actions := readers | {"key.create"}

billing_actions := readers | {"budget.write", "usage.export"}

org_actions := {
	"owner": owner_actions,
	"admin": admin_actions,
	"member": member_actions,
	"billing": billing_actions,
	"viewer": readers,
}

allow if input.action in public_actions

allow if {
	input.principal.kind == "service"
	input.action in service_actions
}

# Platform policy: where MFA is required, a platform admin's session that did not pass it
# has only what any user has for themselves (enough to enrol TOTP).
allow if {
	input.principal.kind == "user"
	input.principal.platform_admin
	platform_admin_verified
	not input.action in service_actions
}

platform_admin_verified if not input.require_platform_admin_mfa

platform_admin_verified if input.principal.mfa

allow if {
	input.principal.kind == "user"
	input.action in self_actions
}

allow if {
	input.principal.kind == "user"
	role := input.principal.orgs[input.org_id]
	input.action in org_actions[role]
	not escalation
}

# A member may change and revoke the keys it created, and only those.
allow if {
	input.principal.kind == "user"
	input.principal.orgs[input.org_id] == "member"
	input.action in {"key.update", "key.revoke"}
	input.resource.created_by == input.principal.id
}

membership_actions := {"member.add", "member.update", "member.remove"}

# Only an owner grants the owner role or changes an owner's membership.
escalation if {
	input.action in membership_actions
	input.resource.new_role == "owner"
	input.principal.orgs[input.org_id] != "owner"
}

escalation if {
	input.action in membership_actions
	input.resource.current_role == "owner"
	input.principal.orgs[input.org_id] != "owner"
}

# Nobody but an owner changes their own membership (no self-promotion).
escalation if {
	input.action == "member.update"
	input.resource.user_id == input.principal.id
	input.principal.orgs[input.org_id] != "owner"
}

decision := {"allow": allow}
