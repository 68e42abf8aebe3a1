"""Who may do what, where: roles, permissions and scopes (least privilege).

=========  ==================================================  =============================
role       permissions                                          scope
=========  ==================================================  =============================
admin      everything                                           every aire
manager    configure aires, manage and read stays, read         aires of their sectors
           registers, read aires, statistics and reports,
           manage and read households, answer data requests
           (erase, export, access log)
cashier    manage and read stays, handle cash, read registers,  their assigned aires
           read aires and reports, manage and read households
auditor    read registers (payer names included), read aires    aires of their collectivité
           and reports
analyst    read aires, read anonymised statistics and the       every aire (never a household)
           anonymised reports (ALT2, DSP)
=========  ==================================================  =============================

A household is in a manager's or cashier's scope when one of its aires is: the aire where it
was recorded, or an aire where it has stayed (``authorize_any``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from hacienda_ledger.aggregates.errors import Forbidden
from hacienda_ledger.aggregates.user import Role, User


class Permission(StrEnum):
    ADMINISTER = "administer"  # users and collectivités
    CONFIGURE_AIRE = "configure_aire"  # aires, emplacements, tariffs, closures, registers
    MANAGE_STAYS = "manage_stays"  # arrivals, readings, extensions, charges, departures
    READ_STAYS = "read_stays"
    HANDLE_CASH = "handle_cash"  # receipts, cancellations, refunds, remittances, counts...
    READ_REGISTERS = "read_registers"  # registers, journals, verification, history
    READ_AIRES = "read_aires"
    READ_STATISTICS = "read_statistics"
    READ_REPORTS = "read_reports"  # stored reports, within scope (analysts: anonymised only)
    MANAGE_HOUSEHOLDS = "manage_households"  # record households, amend them, their documents
    READ_HOUSEHOLDS = "read_households"  # a household's personal data, search by name
    ANSWER_DATA_REQUESTS = "answer_data_requests"  # erasure, export, access log


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MANAGER: frozenset(
        {
            Permission.CONFIGURE_AIRE,
            Permission.MANAGE_STAYS,
            Permission.READ_STAYS,
            Permission.READ_REGISTERS,
            Permission.READ_AIRES,
            Permission.READ_STATISTICS,
            Permission.READ_REPORTS,
            Permission.MANAGE_HOUSEHOLDS,
            Permission.READ_HOUSEHOLDS,
            Permission.ANSWER_DATA_REQUESTS,
        }
    ),
    Role.CASHIER: frozenset(
        {
            Permission.MANAGE_STAYS,
            Permission.READ_STAYS,
            Permission.HANDLE_CASH,
            Permission.READ_REGISTERS,
            Permission.READ_AIRES,
            Permission.READ_REPORTS,
            Permission.MANAGE_HOUSEHOLDS,
            Permission.READ_HOUSEHOLDS,
        }
    ),
    Role.AUDITOR: frozenset(
        {Permission.READ_REGISTERS, Permission.READ_AIRES, Permission.READ_REPORTS}
    ),
    Role.ANALYST: frozenset(
        {Permission.READ_AIRES, Permission.READ_STATISTICS, Permission.READ_REPORTS}
    ),
}


class Scoped(Protocol):
    """What scope decisions read of an aire: facts that never change after registration."""

    @property
    def id(self) -> UUID: ...
    @property
    def code(self) -> str: ...
    @property
    def sector(self) -> str: ...
    @property
    def collectivite_id(self) -> UUID: ...


@dataclass(frozen=True)
class AireScope:
    id: UUID
    code: str
    sector: str
    collectivite_id: UUID


def in_scope(user: User, aire: Scoped) -> bool:
    """Whether the aire lies within the user's assignment."""
    if user.role in (Role.ADMIN, Role.ANALYST):
        return True
    if user.role is Role.MANAGER:
        return aire.sector in user.sectors
    if user.role is Role.CASHIER:
        return aire.id in user.aire_ids
    return aire.collectivite_id == user.collectivite_id


def _a(role: Role) -> str:
    return ("an " if role.value[0] in "aeiou" else "a ") + role.value


def authorize_sector(user: User, permission: Permission, sector: str) -> None:
    """For an aire about to be registered: the permission, in the sector it will belong to."""
    if permission not in GRANTS[user.role]:
        raise Forbidden(f"{_a(user.role)} may not {permission.value.replace('_', ' ')}")
    if user.role is Role.MANAGER and sector not in user.sectors:
        raise Forbidden(f"sector {sector} is outside this manager's scope")
    if user.role not in (Role.ADMIN, Role.MANAGER):
        raise Forbidden(f"{_a(user.role)} may not register aires")


def authorize(user: User, permission: Permission, aire: Scoped | None = None) -> None:
    """Raise ``Forbidden`` unless the user's role grants the permission on that aire."""
    if permission not in GRANTS[user.role]:
        raise Forbidden(f"{_a(user.role)} may not {permission.value.replace('_', ' ')}")
    if aire is not None and not in_scope(user, aire):
        raise Forbidden(f"aire {aire.code} is outside this {user.role.value}'s scope")


#: Reports without any household in them: what an analyst may read.
ANONYMISED_REPORTS = frozenset({"alt2", "alt2_summary", "dsp"})


def may_read_report(user: User, kind: str, aire: Scoped | None) -> bool:
    """Whether a stored report is visible to the user: its kind for their role, its aire in
    their scope. The operator-wide summary (no aire) is for admins and analysts."""
    if Permission.READ_REPORTS not in GRANTS[user.role]:
        return False
    if user.role is Role.ANALYST:
        return kind in ANONYMISED_REPORTS
    if aire is None:
        return user.role is Role.ADMIN
    return in_scope(user, aire)


def authorize_any(user: User, permission: Permission, aires: Sequence[Scoped]) -> None:
    """Raise ``Forbidden`` unless the role grants the permission on at least one of the
    aires (a household's: where it was recorded and where it has stayed)."""
    if permission not in GRANTS[user.role]:
        raise Forbidden(f"{_a(user.role)} may not {permission.value.replace('_', ' ')}")
    if not any(in_scope(user, aire) for aire in aires):
        raise Forbidden(f"this household has not stayed on an aire of this {user.role.value}")
