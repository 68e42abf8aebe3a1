"""Who may do what, where: roles, permissions and scopes (least privilege).

=========  ==================================================  =============================
role       permissions                                          scope
=========  ==================================================  =============================
admin      everything but cash: users, collectivités, aires     every aire
           and registers' configuration, every read (the
           whole technical journal included); never
           a receipt, cancellation, refund, remittance,
           count, handover or régularisation (it
           administers, it handles no cash)
manager    configure aires, manage and read stays, read         aires of their sectors, in
           registers, read aires, statistics, analytics and     their collectivité
           reports, manage and read households, answer data
           requests (erase, export, access log)
cashier    manage and read stays, handle cash (a cancellation   their assigned aires
           is only asked for: it waits for a régisseur),
           count the cash, read registers, read aires and
           reports, manage and read households
regisseur  what a cashier may; approve cancellations (its own   their assigned aires
           need no second approval); sign cash: hand the
           régie over and regularise a count's difference
auditor    read registers (payer names included), read aires    aires of their collectivité
           and reports, read the technical journal (JET), read
           analytics (the collectivité's territory)
analyst    read aires, read anonymised statistics, analytics    every aire (never a household)
           and the anonymised reports (ALT2, DSP)
intervenant record and read interventions, read aires (no       their assigned aires (the
           stay named on them): nothing of cash or households  aires' teams)
=========  ==================================================  =============================

Interventions are recorded by managers, intervenants and admins, and read by them (cashiers,
régisseurs, auditors and analysts have no use for them). A manager puts users whose scope
is their aires (cashiers, régisseurs, intervenants) in an aire's team (``CONFIGURE_AIRE``):
the aire enters their scope.

An aire's own documents (règlement intérieur, arrêtés, conventions...) are uploaded by
managers and admins (``UPLOAD_DOCUMENTS``) and read by every role that works on the aire:
cashiers and régisseurs (the règlement every arrival signs), intervenants, auditors
(``READ_DOCUMENTS``); analysts, who see anonymised figures only, have no use for them.

Every role manages its own bearer tokens (``manage_tokens``: list, revoke, rotate them); the
admin, who administers users, anyone's (``Access.authorize_token``).

A manager's scope is a collectivité and sectors of it: an aire is theirs when it belongs to
that collectivité *and* lies in one of their sectors (sectors are bare names, shared by
collectivités: a sector alone never grants anything). A manager recorded without a
collectivité (before issue 16) has no aire in scope.

A household belongs to the collectivité of the aire where it was recorded. It is in a
manager's, cashier's or régisseur's scope when one of its aires *of that collectivité* is:
the aire where it was recorded, or an aire where it has stayed (``authorize_any``). Nothing
refers to a household, or to a stay, across collectivités: an arrival naming a household of
another collectivité, a receipt, refund or withholding naming a stay of another collectivité
is refused (``OutsideCollectivite``, 403), for every role.

A cancellation is approved by a régisseur only: managers run sites and handle no cash, and
the régisseur is the one personally accountable for the régie's money (its acte constitutif
names them), so no other role may reverse a receipt. For the same reason a handover (remise
de service) and the régularisation of a count's over or short are the régisseur's
(``SIGN_CASH``); counting the cash is every cash handler's daily act, so a cashier counts
(the count names who counted) and a shortfall found stays open until the régisseur makes it
good.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.errors import (
    AireNotFound,
    Forbidden,
    RegisterNotFound,
    UserNotFound,
)
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.user import ASSIGNED_ROLES, Role, User

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger


class Permission(StrEnum):
    ADMINISTER = "administer"  # users and collectivités
    CONFIGURE_AIRE = "configure_aire"  # aires, emplacements, tariffs, closures, registers
    MANAGE_STAYS = "manage_stays"  # arrivals, readings, extensions, charges, departures
    READ_STAYS = "read_stays"
    # receipts, asking for cancellations, refunds, remittances, counts (the daily arrêté de
    # caisse, signed by who counted)...
    HANDLE_CASH = "handle_cash"
    # A receipt reversed: a cancellation approved, or made on one's own authority.
    APPROVE_CANCELLATIONS = "approve_cancellations"
    # The régisseur's own acts, for which they answer personally: hand the régie over (on a
    # count made together, to another régisseur) and regularise a count's difference.
    SIGN_CASH = "sign_cash"
    READ_REGISTERS = "read_registers"  # registers, journals, verification, history
    READ_AIRES = "read_aires"
    READ_STATISTICS = "read_statistics"
    # the analytics tables (issue 19), suppressed: every row, or the user's territory at
    # the aire, commune and collectivité levels beside every département, région, France
    READ_ANALYTICS = "read_analytics"
    READ_REPORTS = "read_reports"  # stored reports, within scope (analysts: anonymised only)
    MANAGE_HOUSEHOLDS = "manage_households"  # record households, amend them, their documents
    READ_HOUSEHOLDS = "read_households"  # a household's personal data, search by name
    ANSWER_DATA_REQUESTS = "answer_data_requests"  # erasure, export, access log
    READ_AUDIT_TRAIL = "read_audit_trail"  # the technical journal (JET), within scope
    # one's own bearer tokens: list, revoke, rotate (an admin: anyone's, by ADMINISTER)
    MANAGE_TOKENS = "manage_tokens"
    RECORD_INTERVENTIONS = "record_interventions"  # record them, change their status
    READ_INTERVENTIONS = "read_interventions"
    UPLOAD_DOCUMENTS = "upload_documents"  # the aire's own documents (règlement, arrêtés...)
    READ_DOCUMENTS = "read_documents"


#: Permissions that move money or vouch for it: never the admin's.
CASH_PERMISSIONS = frozenset(
    {Permission.HANDLE_CASH, Permission.APPROVE_CANCELLATIONS, Permission.SIGN_CASH}
)

_CASHIER = frozenset(
    {
        Permission.MANAGE_TOKENS,
        Permission.MANAGE_STAYS,
        Permission.READ_STAYS,
        Permission.HANDLE_CASH,
        Permission.READ_REGISTERS,
        Permission.READ_AIRES,
        Permission.READ_REPORTS,
        Permission.MANAGE_HOUSEHOLDS,
        Permission.READ_HOUSEHOLDS,
        Permission.READ_DOCUMENTS,
    }
)

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission) - CASH_PERMISSIONS,
    Role.MANAGER: frozenset(
        {
            Permission.MANAGE_TOKENS,
            Permission.CONFIGURE_AIRE,
            Permission.MANAGE_STAYS,
            Permission.READ_STAYS,
            Permission.READ_REGISTERS,
            Permission.READ_AIRES,
            Permission.READ_STATISTICS,
            Permission.READ_ANALYTICS,
            Permission.READ_REPORTS,
            Permission.MANAGE_HOUSEHOLDS,
            Permission.READ_HOUSEHOLDS,
            Permission.ANSWER_DATA_REQUESTS,
            Permission.RECORD_INTERVENTIONS,
            Permission.READ_INTERVENTIONS,
            Permission.UPLOAD_DOCUMENTS,
            Permission.READ_DOCUMENTS,
        }
    ),
    Role.CASHIER: _CASHIER,
    Role.REGISSEUR: _CASHIER | {Permission.APPROVE_CANCELLATIONS, Permission.SIGN_CASH},
    Role.AUDITOR: frozenset(
        {
            Permission.MANAGE_TOKENS,
            Permission.READ_REGISTERS,
            Permission.READ_AIRES,
            Permission.READ_REPORTS,
            Permission.READ_AUDIT_TRAIL,
            Permission.READ_ANALYTICS,
            Permission.READ_DOCUMENTS,
        }
    ),
    Role.ANALYST: frozenset(
        {
            Permission.MANAGE_TOKENS,
            Permission.READ_AIRES,
            Permission.READ_STATISTICS,
            Permission.READ_ANALYTICS,
            Permission.READ_REPORTS,
        }
    ),
    Role.INTERVENANT: frozenset(
        {
            Permission.MANAGE_TOKENS,
            Permission.READ_AIRES,
            Permission.RECORD_INTERVENTIONS,
            Permission.READ_INTERVENTIONS,
            Permission.READ_DOCUMENTS,
        }
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
        return aire.collectivite_id == user.collectivite_id and aire.sector in user.sectors
    if user.role in ASSIGNED_ROLES:
        return aire.id in user.aire_ids
    return aire.collectivite_id == user.collectivite_id


def _a(role: Role) -> str:
    return ("an " if role.value[0] in "aeiou" else "a ") + role.value


def authorize_sector(
    user: User, permission: Permission, sector: str, collectivite_id: UUID | None
) -> None:
    """For an aire about to be registered: the permission, in the collectivité and the
    sector it will belong to."""
    if permission not in GRANTS[user.role]:
        raise Forbidden(f"{_a(user.role)} may not {permission.value.replace('_', ' ')}")
    if user.role is Role.MANAGER and (
        collectivite_id != user.collectivite_id or sector not in user.sectors
    ):
        raise Forbidden(f"sector {sector} of that collectivité is outside this manager's scope")
    if user.role not in (Role.ADMIN, Role.MANAGER):
        raise Forbidden(f"{_a(user.role)} may not register aires")


def authorize(user: User, permission: Permission, aire: Scoped | None = None) -> None:
    """Raise ``Forbidden`` unless the user's role grants the permission on that aire."""
    if permission not in GRANTS[user.role]:
        raise Forbidden(f"{_a(user.role)} may not {permission.value.replace('_', ' ')}")
    if aire is not None and not in_scope(user, aire):
        raise Forbidden(f"aire {aire.code} is outside this {user.role.value}'s scope")


def grants(user: User, permission: Permission) -> bool:
    """Whether the user's role grants the permission (scope aside)."""
    return permission in GRANTS[user.role]


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


@dataclass(frozen=True)
class Scope:
    """What a command acts on, for the user's scope check (at most one of the ids, or a
    sector with its collectivité, is set; none: the permission alone decides). A token is
    in the scope of its own user, and of the admin."""

    aire_id: UUID | None = None
    register_id: UUID | None = None
    stay_id: UUID | None = None
    household_id: UUID | None = None
    sector: str | None = None  # an aire about to be created there, in that collectivité:
    collectivite_id: UUID | None = None
    token_id: UUID | None = None
    intervention_id: UUID | None = None
    member_id: UUID | None = None  # a user put in or out of an aire's team


class Access:
    """Who is asking, and whether they may: bearer tokens, and the scope of the aire a
    request concerns (found from a register, a stay or a household when that is what it
    names). What scope checks read never changes once recorded, so it is remembered."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._register_aires: dict[UUID, UUID] = {}
        self._stay_aires: dict[UUID, UUID] = {}
        self._aire_scopes: dict[UUID, AireScope] = {}
        self._aire_registers: dict[UUID, tuple[UUID, ...]] = {}
        self._household_collectivites: dict[UUID, UUID] = {}
        self._token_owners: dict[UUID, UUID] = {}
        self._intervention_aires: dict[UUID, UUID] = {}

    def known_user(self, token: str) -> User | None:
        """The user of a token authenticated here less than a second ago and still valid
        (no IO), else None (``application/tokens.py``)."""
        return self.ledger.tokens.known_user(token)

    def authenticate(self, token: str) -> User:
        """The user holding this bearer token, or ``Unauthenticated`` (``token_expired``,
        ``token_revoked``)."""
        return self.ledger.tokens.authenticate(token)

    def authorize_token(self, user: User, permission: Permission, token_id: UUID) -> None:
        """The permission, on a token of the user's own (``TokenNotFound`` for a token
        never issued), or of anyone's for an admin."""
        authorize(user, permission)
        owner = self._token_owners.get(token_id)
        if owner is None:  # a token's user never changes: remembered
            owner = self._token_owners[token_id] = self.ledger.tokens.token(token_id).user_id
        if owner != user.id and not grants(user, Permission.ADMINISTER):
            raise Forbidden("this token is another user's: only an admin acts on it")

    def bootstrap_admin(self, token: str) -> bool:
        """Create the first admin with the given token, on a database that has no user yet.
        Returns whether it did (a database with users is never given a new admin this way)."""
        if next(iter(self.ledger.ids_of(User.Created)), None) is not None:
            return False
        self.ledger.create_user(name="admin", role=Role.ADMIN, actor="bootstrap", token=token)
        return True

    def authorize(
        self,
        user: User,
        permission: Permission,
        *,
        aire_id: UUID | None = None,
        register_id: UUID | None = None,
        stay_id: UUID | None = None,
        intervention_id: UUID | None = None,
    ) -> None:
        """Check the user's role and scope for the aire concerned (found from a register,
        a stay or an intervention when that is what the request names)."""
        if register_id is not None:
            aire_id = self.aire_of_register(register_id)
        elif stay_id is not None:
            aire_id = self.aire_of_stay(stay_id)
        elif intervention_id is not None:
            authorize(user, permission)  # no role without it learns whether it exists
            aire_id = self.aire_of_intervention(intervention_id)
        authorize(user, permission, self.aire_scope(aire_id) if aire_id is not None else None)

    def permits(self, user: User, permission: Permission, *, register_id: UUID) -> bool:
        """Whether the user has the permission on the register's aire (no error)."""
        try:
            self.authorize(user, permission, register_id=register_id)
        except Forbidden:
            return False
        return True

    def check(self, user: User, permission: Permission, scope: Scope) -> None:
        """``authorize`` for what a command acts on."""
        if scope.sector is not None:
            authorize_sector(user, permission, scope.sector, scope.collectivite_id)
        elif scope.token_id is not None:
            self.authorize_token(user, permission, scope.token_id)
        elif scope.household_id is not None:
            self.authorize_household(user, permission, scope.household_id)
        elif scope.member_id is not None:
            self.authorize_member(user, permission, scope.member_id)
        else:
            self.authorize(
                user,
                permission,
                aire_id=scope.aire_id,
                register_id=scope.register_id,
                stay_id=scope.stay_id,
                intervention_id=scope.intervention_id,
            )

    def authorize_household(self, user: User, permission: Permission, household_id: UUID) -> None:
        """Managers, cashiers and régisseurs of an aire of the household's collectivité where
        it was recorded or has stayed (and admins); nobody else."""
        authorize_any(user, permission, self.household_aires(household_id))

    def authorize_member(self, user: User, permission: Permission, member_id: UUID) -> None:
        """A team member is the caller's to assign when every aire already in the member's
        scope is in the caller's: a manager never takes another collectivité's staff."""
        authorize(user, permission)
        try:
            aires = self.ledger.user(member_id).aire_ids
        except UserNotFound:
            raise UserNotFound(f"no user {member_id}", field="user_id") from None
        for aire_id in aires:
            authorize(user, permission, self.aire_scope(aire_id))

    def household_aires(self, household_id: UUID) -> list[AireScope]:
        """The aires that put a household in a user's scope: where it was recorded and where
        it has stayed, of the collectivité it belongs to (that of the aire where it was
        recorded). A stay recorded across collectivités before issue 16 adds nothing."""
        facts = self.ledger.households.facts(household_id)
        home = self.aire_scope(facts.aire_id).collectivite_id
        aires = [self.aire_scope(a) for a in facts.aire_ids]
        return [a for a in aires if a.collectivite_id == home]

    def household_collectivite(self, household_id: UUID) -> UUID:
        """The collectivité a household belongs to: that of the aire where it was recorded
        (never changes, so it is remembered)."""
        found = self._household_collectivites.get(household_id)
        if found is None:
            facts = self.ledger.households.facts(household_id)
            found = self.aire_scope(facts.aire_id).collectivite_id
            self._household_collectivites[household_id] = found
        return found

    def collectivites_in_scope(self, user: User) -> set[UUID] | None:
        """The collectivités of the aires in the user's scope (None: every one)."""
        if user.role in (Role.ADMIN, Role.ANALYST):
            return None
        if user.role is Role.MANAGER or user.role is Role.AUDITOR:
            return {user.collectivite_id} if user.collectivite_id is not None else set()
        return {self.aire_scope(a).collectivite_id for a in user.aire_ids}

    def register_in_scope(self, user: User, register_id: UUID) -> bool:
        """Whether the user's scope holds the register: the aire it was opened for (the
        scope of ``GET /v1/registers/{id}``), whatever other aires it collects for."""
        return in_scope(user, self.aire_scope(self.aire_of_register(register_id)))

    def aire_scope(self, aire_id: UUID) -> AireScope:
        """An aire's id, code, sector and collectivité: set when it was registered, so read
        from that one event (an aire of years holds thousands, and a restarted process
        would replay them all before its first answer)."""
        scope = self._aire_scopes.get(aire_id)
        if scope is None:
            aire = self.ledger.created(aire_id, Aire.Registered, AireNotFound)
            scope = AireScope(aire_id, aire.code, aire.sector, aire.collectivite_id)
            self._aire_scopes[aire_id] = scope
        return scope

    def aire_of_stay(self, stay_id: UUID) -> UUID:
        aire_id = self._stay_aires.get(stay_id)
        if aire_id is None:
            aire_id = self._stay_aires[stay_id] = self.ledger.stay(stay_id).aire_id
        return aire_id

    def registers_of_aire(self, aire_id: UUID) -> tuple[UUID, ...]:
        """The registers collecting for an aire, as last seen (what a command on a stay
        locks besides it: ``handlers/stays``). A register opened or attached since is seen
        at the next command that reads the aire under its lock (``seen_registers``); until
        then it is written unlocked, its version check on save the guard."""
        found = self._aire_registers.get(aire_id)
        if found is None:
            found = self._aire_registers[aire_id] = tuple(self.ledger.aire(aire_id).register_ids)
        return found

    def seen_registers(self, aire_id: UUID, register_ids: tuple[UUID, ...]) -> None:
        """The aire's registers as read under its lock: remembered."""
        self._aire_registers[aire_id] = register_ids

    def aire_of_intervention(self, intervention_id: UUID) -> UUID:
        aire_id = self._intervention_aires.get(intervention_id)
        if aire_id is None:
            found = self.ledger.intervention(intervention_id).aire_id
            aire_id = self._intervention_aires[intervention_id] = found
        return aire_id

    def aire_of_register(self, register_id: UUID) -> UUID:
        """The aire a register was opened for (read from its opening alone)."""
        aire_id = self._register_aires.get(register_id)
        if aire_id is None:
            opened = self.ledger.created(register_id, CashRegister.Opened, RegisterNotFound)
            aire_id = self._register_aires[register_id] = opened.aire_id
        return aire_id

    def aires_in_scope(self, user: User) -> list[UUID]:
        """The ids of every aire the user may see, in registration order (decided on the
        remembered scopes: no aire is loaded)."""
        authorize(user, Permission.READ_AIRES)
        ids = self.ledger.ids_of(Aire.Registered)
        return [a for a in ids if in_scope(user, self.aire_scope(a))]
