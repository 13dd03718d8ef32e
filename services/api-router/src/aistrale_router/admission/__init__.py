"""Budgets and rate limits that cannot be overspent under concurrency (docs/budgets.md)."""

from aistrale_router.admission.factory import build_gatekeeper
from aistrale_router.admission.port import (
    Admission,
    AdmissionRequest,
    Gatekeeper,
    ManagedGatekeeper,
    Settlement,
)

__all__ = [
    "Admission",
    "AdmissionRequest",
    "Gatekeeper",
    "ManagedGatekeeper",
    "Settlement",
    "build_gatekeeper",
]
