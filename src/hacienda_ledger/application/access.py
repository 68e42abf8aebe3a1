"""Who may do what, where: roles, permissions and scopes (least privilege).

=========  ==================================================  =============================
role       permissions                                          scope
=========  ==================================================  =============================
admin      everything                                           every aire
manager    configure aires, manage and read stays, read         aires of their sectors
           registers, read aires, statistics and reports
cashier    manage and read stays, handle cash, read registers,  their assigned aires
           read aires and reports
auditor    read registers, read aires and reports               aires of their collectivité
analyst    read aires, read anonymised statistics and the       every aire
           anonymised reports (ALT2, DSP)
=========  ==================================================  =============================
"""

from __future__ import annotations

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
