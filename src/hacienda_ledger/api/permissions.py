"""Who may call each operation: its permission, written in the OpenAPI document.

Each operation of the API names the permission it needs (``x-permission``: a value of
``access.Permission``, ``authenticated`` for any user, or, where a parameter decides, an
object ``{"parameter": "table", "values": {value: permission}}``) and whether the ids it
takes are confined to the caller's scope (``x-scoped``). A write that runs a command takes its
permission from the command's handler (``HANDLERS``), so the two never differ; a read names
its own. The routes check them (``Access.authorize``, the pipeline); this table says what
they check, for clients and for ``tests/e2e/test_authorization.py``, which calls every
operation of the document as every role, in its own scope and with another collectivité's
ids, and holds the answers to it: a route missing here fails that test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.handling import HANDLERS
from hacienda_ledger.reports.exports import AUDIENCES, EXPORTS

AUTHENTICATED = "authenticated"

_P = Permission
#: The path of one register, under which every cash operation lies.
_REGISTER = "/v1/registers/{register_id}"


@dataclass(frozen=True)
class ByParameter:
    """A permission that depends on a parameter's value (an export's table)."""

    parameter: str
    values: Mapping[str, Permission]


_EXPORTS = ByParameter(
    "table",
    {table: AUDIENCES[spec.audience] for table, spec in EXPORTS.items()},
)

#: (method, path) -> the command the route runs, or the permission it checks itself.
OPERATIONS: dict[tuple[str, str], type[c.Command] | Permission | ByParameter | str] = {
    ("POST", "/v1/users"): c.CreateUser,
    ("GET", "/v1/users/me"): AUTHENTICATED,
    ("GET", "/v1/users/me/tokens"): _P.MANAGE_TOKENS,
    ("GET", "/v1/users/{user_id}/tokens"): _P.ADMINISTER,
    ("POST", "/v1/tokens/{token_id}/revocation"): c.RevokeToken,
    ("POST", "/v1/tokens/{token_id}/rotation"): c.RotateToken,
    ("POST", "/v1/collectivites"): c.CreateCollectivite,
    ("GET", "/v1/collectivites"): _P.READ_AIRES,
    ("GET", "/v1/collectivites/{collectivite_id}"): _P.READ_AIRES,
    ("POST", "/v1/aires"): c.CreateAire,
    ("GET", "/v1/aires"): _P.READ_AIRES,
    ("GET", "/v1/aires/{aire_id}"): _P.READ_AIRES,
    ("POST", "/v1/aires/{aire_id}/emplacements"): c.AddEmplacement,
    ("POST", "/v1/aires/{aire_id}/emplacements/{number}/out-of-service"): c.PutOutOfService,
    ("POST", "/v1/aires/{aire_id}/emplacements/{number}/back-in-service"): c.PutBackInService,
    ("POST", "/v1/aires/{aire_id}/unmet-demand"): c.RecordUnmetDemand,
    ("POST", "/v1/aires/{aire_id}/tariffs"): c.AdoptTariff,
    ("POST", "/v1/aires/{aire_id}/closures"): c.ScheduleClosure,
    ("PUT", "/v1/aires/{aire_id}/stay-rules"): c.SetStayRules,
    ("POST", "/v1/aires/{aire_id}/registers"): c.OpenRegister,
    ("POST", "/v1/aires/{aire_id}/attached-registers"): c.AttachRegister,
    ("POST", "/v1/aires/{aire_id}/seals"): c.SealMonth,
    ("POST", "/v1/aires/{aire_id}/regularisations"): c.Regularise,
    ("GET", "/v1/aires/{aire_id}/seals"): _P.READ_REGISTERS,
    ("GET", "/v1/aires/{aire_id}/seals/{month}/attestation"): _P.READ_REGISTERS,
    ("GET", "/v1/aires/{aire_id}/verify"): _P.READ_REGISTERS,
    ("POST", "/v1/aires/{aire_id}/stays"): c.OpenStay,
    ("GET", "/v1/stays/{stay_id}"): _P.READ_STAYS,
    ("POST", "/v1/stays/{stay_id}/meter-readings"): c.RecordMeterReading,
    ("POST", "/v1/stays/{stay_id}/extensions"): c.ExtendStay,
    ("POST", "/v1/stays/{stay_id}/charges"): c.AssessCharges,
    ("POST", "/v1/stays/{stay_id}/departure"): c.Depart,
    ("GET", "/v1/stays/{stay_id}/balance"): _P.READ_STAYS,
    ("GET", _REGISTER): _P.READ_REGISTERS,
    ("PUT", _REGISTER + "/rules"): c.SetRegisterRules,
    ("GET", _REGISTER + "/alerts"): _P.READ_REGISTERS,
    ("POST", _REGISTER + "/receipts"): c.IssueReceipt,
    # who handles the cash may call it: a cashier's call asks (202, ``RequestCancellation``),
    # a régisseur's (``approve_cancellations`` too) cancels at once (201, ``CancelReceipt``)
    ("POST", _REGISTER + "/receipts/{number}/cancellation"): c.RequestCancellation,
    ("POST", _REGISTER + "/receipts/{number}/cancellation/approval"): c.ApproveCancellation,
    ("POST", _REGISTER + "/receipts/{number}/cancellation/refusal"): c.RefuseCancellation,
    ("POST", _REGISTER + "/receipts/{number}/cancellation/withdrawal"): c.WithdrawCancellation,
    ("POST", _REGISTER + "/deposit-refunds"): c.RefundDeposit,
    ("POST", _REGISTER + "/advance-refunds"): c.RefundAdvance,
    ("POST", _REGISTER + "/deposit-withholdings"): c.WithholdDeposit,
    ("POST", _REGISTER + "/remittances"): c.Remit,
    ("POST", _REGISTER + "/cash-counts"): c.CountCash,
    ("POST", _REGISTER + "/closures"): c.ClosePeriod,
    ("GET", _REGISTER + "/remittances/preview"): _P.READ_REGISTERS,
    ("POST", _REGISTER + "/cash-counts/{count_number}/regularisation"): c.RegulariseCashDifference,
    ("POST", _REGISTER + "/handovers"): c.HandOver,
    ("GET", _REGISTER + "/verify"): _P.READ_REGISTERS,
    ("GET", _REGISTER + "/journal"): _P.READ_REGISTERS,
    ("GET", _REGISTER + "/history"): _P.READ_REGISTERS,
    ("GET", _REGISTER + "/receipts/{number}"): _P.READ_REGISTERS,
    # a read; the first call of a cash handler also records the original's print
    # (``PrintDocument``, which ``handle_cash`` allows): ``RECORDING_READS``
    ("GET", _REGISTER + "/documents/{document}/{number}"): _P.READ_REGISTERS,
    ("POST", _REGISTER + "/documents/{document}/{number}/reprints"): c.RecordReprint,
    ("GET", "/v1/aires/{aire_id}/occupancy"): _P.READ_STATISTICS,
    ("GET", "/v1/aires/{aire_id}/alt2"): _P.READ_STATISTICS,
    ("GET", "/v1/aires/{aire_id}/revenue"): _P.READ_STATISTICS,
    ("GET", "/v1/reports"): _P.READ_REPORTS,
    ("GET", "/v1/reports/{report_id}"): _P.READ_REPORTS,
    ("GET", "/v1/exports/{table}"): _EXPORTS,
    ("GET", "/v1/analytics/{table}"): _P.READ_ANALYTICS,
    ("GET", "/v1/analytics/pictures/{picture}"): _P.READ_ANALYTICS,
    ("POST", "/v1/households"): c.RecordHousehold,
    ("GET", "/v1/households"): _P.READ_HOUSEHOLDS,
    ("GET", "/v1/households/{household_id}"): _P.READ_HOUSEHOLDS,
    ("PATCH", "/v1/households/{household_id}"): c.AmendHousehold,
    ("GET", "/v1/households/{household_id}/documents"): _P.READ_HOUSEHOLDS,
    ("POST", "/v1/households/{household_id}/documents"): c.RecordHouseholdDocument,
    ("DELETE", "/v1/households/{household_id}/personal-data"): c.EraseHousehold,
    ("GET", "/v1/households/{household_id}/access-log"): _P.ANSWER_DATA_REQUESTS,
    ("GET", "/v1/households/{household_id}/export"): _P.ANSWER_DATA_REQUESTS,
    ("GET", "/v1/audit-trail"): _P.READ_AUDIT_TRAIL,
    ("POST", "/v1/aires/{aire_id}/interventions"): c.RecordIntervention,
    ("GET", "/v1/aires/{aire_id}/interventions"): _P.READ_INTERVENTIONS,
    ("GET", "/v1/interventions/{intervention_id}"): _P.READ_INTERVENTIONS,
    ("PATCH", "/v1/interventions/{intervention_id}"): c.SetInterventionStatus,
    ("POST", "/v1/aires/{aire_id}/team"): c.AssignTeamMember,
    ("DELETE", "/v1/aires/{aire_id}/team/{user_id}"): c.WithdrawTeamMember,
    ("POST", "/v1/aires/{aire_id}/documents"): c.UploadDocument,
    ("POST", "/v1/aires/{aire_id}/documents/{document_id}/versions"): c.UploadDocumentVersion,
    ("GET", "/v1/aires/{aire_id}/documents"): _P.READ_DOCUMENTS,
    ("GET", "/v1/aires/{aire_id}/documents/{document_id}"): _P.READ_DOCUMENTS,
}

#: Operations whose ids are not confined to a scope: the collectivités' public facts, what
#: only an admin does (users, collectivités), one's own tokens listed. (A token named by its
#: id is confined to its own user, and the admin: ``Access.authorize_token``.)
UNSCOPED = frozenset(
    {
        ("POST", "/v1/users"),
        ("GET", "/v1/users/me"),
        ("GET", "/v1/users/me/tokens"),
        ("GET", "/v1/users/{user_id}/tokens"),
        ("POST", "/v1/collectivites"),
        ("GET", "/v1/collectivites"),
        ("GET", "/v1/collectivites/{collectivite_id}"),
    }
)

#: Reads that may record an event: a document's original is printed once, by the first cash
#: handler who asks for it (``DocumentPrinted``); afterwards, and for anyone else, a copy.
RECORDING_READS = frozenset({("GET", _REGISTER + "/documents/{document}/{number}")})

#: Open to anyone, without a token.
OPEN = frozenset({("GET", "/health"), ("GET", "/ready")})


def permission_of(method: str, path: str) -> str | dict[str, Any] | None:
    """The permission an operation needs as the document writes it (``authenticated``: any
    user), None if the table does not know the operation."""
    declared = OPERATIONS.get((method, path))
    if declared is None:
        return None
    if isinstance(declared, type):
        return HANDLERS[declared].permission.value
    if isinstance(declared, ByParameter):
        values = {k: v.value for k, v in declared.values.items()}
        return {"parameter": declared.parameter, "values": values}
    return str(declared.value if isinstance(declared, Permission) else declared)


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Write each operation's ``x-permission`` and ``x-scoped`` into the OpenAPI document
    (an operation missing from ``OPERATIONS`` gets neither)."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            key = (method.upper(), path)
            if key in OPEN:
                operation["x-permission"] = "none"
                operation["x-scoped"] = False
                continue
            permission = permission_of(*key)
            if permission is not None:
                operation["x-permission"] = permission
                operation["x-scoped"] = key not in UNSCOPED
    return schema


def install(app: FastAPI) -> None:
    """Have the app's OpenAPI document say each operation's permission."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        return document(build())

    app.openapi = openapi  # type: ignore[method-assign]
