"""Evaluates policy.rego in process (regopy) and turns a denial into the right error.

A denial on an org the caller does not belong to is a 404, never a 403: the caller must
not learn that the org (or anything in it) exists.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import regopy

from aistrale_common.errors import AuthenticationFailed, NotFound, PermissionDenied
from aistrale_userorg.principal import Principal

POLICY_PATH = Path(__file__).with_name("policy.rego")
QUERY = "x := data.aistrale.authz.allow"
CACHE_SIZE = 4096


class Policy:
    """The decision is a pure function of the input, so decisions are memoized."""

    def __init__(self, source: str | None = None) -> None:
        self._rego = regopy.Interpreter()
        self._rego.add_module("authz", source or POLICY_PATH.read_text())
        self._cache: OrderedDict[str, bool] = OrderedDict()
        self._lock = threading.Lock()  # the interpreter holds its input as state

    def allows(self, policy_input: dict[str, Any]) -> bool:
        key = json.dumps(policy_input, sort_keys=True, default=str)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            decision = self._evaluate(key)
            self._cache[key] = decision
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return decision

    def _evaluate(self, input_json: str) -> bool:
        self._rego.set_input_term(input_json)
        output = self._rego.query(QUERY)
        # An undefined or failing result is a denial (deny by default).
        result = json.loads(str(output)) if output.ok() else {}
        return result.get("bindings", {}).get("x") is True if isinstance(result, dict) else False


class Authorizer:
    def __init__(self, policy: Policy, *, require_platform_admin_mfa: bool = False) -> None:
        self.policy = policy
        self.require_platform_admin_mfa = require_platform_admin_mfa

    def allows(
        self,
        principal: Principal,
        action: str,
        org_id: str | None = None,
        resource: dict[str, Any] | None = None,
    ) -> bool:
        policy_input = {
            "principal": principal.policy_input(),
            "action": action,
            "org_id": org_id,
            "resource": resource or {},
            "require_platform_admin_mfa": self.require_platform_admin_mfa,
        }
        return self.policy.allows(policy_input)

    def check(
        self,
        principal: Principal,
        action: str,
        org_id: str | None = None,
        resource: dict[str, Any] | None = None,
    ) -> None:
        if self.allows(principal, action, org_id, resource):
            return
        if principal.kind == "anonymous":
            raise AuthenticationFailed("Authentication required", code="unauthenticated")
        if org_id is not None and principal.role_in(org_id) is None:
            raise NotFound("Organization not found", param="org_id")
        raise PermissionDenied(f"Your role does not allow {action}")
