"""Attestations: each seal signed, to be kept outside the database.

A seal lives in the event store, so whoever can rewrite the store can rewrite a seal with it:
recompute every hash of a chain, then the seal that records its head. An attestation is the
seal as a JSON document (aire, month, chains' heads, figures' digests, the seal's hash, when,
the software's version) signed with an Ed25519 key that is not in the store (a key file named
by the ``attestation_key`` setting). Kept elsewhere (a directory, an archive, the
Trésorerie's mailbox), attestations let ``hacienda-ledger verify --attestations DIR`` check
the store against heads the database could not have changed: a truncated tail, a tail
rewritten with its hashes recomputed, a forged event appended before the seal with correct
links, a whole chain rewritten — up to the last attested seal.

The signed bytes are the canonical JSON of the document without its ``signature`` (sorted
keys, no spaces, UTF-8). Nothing in the document is read from the clock: ``sealed_at`` is
the seal's recorded time, ``software_version`` the version that sealed it (recorded in the
seal), and Ed25519 signatures are deterministic, so the same seal signed with the same key
always gives the same attestation, byte for byte, however often and by whichever version
it is issued.

**The attestation's hash** (``attestation_hash``), which the monthly report of a sealed
month prints, is the SHA-256 of those signed bytes: an auditor holding the JSON file drops
its ``signature`` key, dumps the rest with sorted keys, ``","``/``":"`` separators and
non-ASCII characters kept, encodes it in UTF-8 and hashes that (docs/reports.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from hacienda_ledger import __version__
from hacienda_ledger.aggregates.errors import AttestationKeyMissing, InvalidValue
from hacienda_ledger.aggregates.integrity import plain
from hacienda_ledger.aggregates.seal import Seals


def create_key(path: Path) -> bool:
    """A new Ed25519 key at ``path`` (readable by its owner only), unless one is there.
    Returns whether it created one."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return True


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise AttestationKeyMissing(
            f"no attestation key at {path}: create one with `hacienda-ledger attestations key`"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidValue(f"{path} is not an Ed25519 private key")
    return key


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def signed_bytes(document: dict[str, Any]) -> bytes:
    """What the signature covers: the document without its signature, canonical JSON."""
    body = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def attestation_hash(document: dict[str, Any]) -> str:
    """The attestation's hash: SHA-256 (64 lower-case hex digits) of ``signed_bytes``, the
    canonical JSON the signature covers. The signature is left out: it is checked against
    the public key, which is among the hashed bytes."""
    return hashlib.sha256(signed_bytes(document)).hexdigest()


def attestation(aire_id: UUID, seal: Seals.MonthSealed, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signed attestation of one seal."""
    document: dict[str, Any] = {
        "kind": "hacienda-ledger seal attestation",
        "aire_id": str(aire_id),
        "month": seal.month,
        "seal_hash": seal.hash,
        "prev_hash": seal.prev_hash,
        "seal_version": seal.originator_version,
        "sealed_at": seal.timestamp.isoformat(),
        "heads": [plain(head) for head in seal.heads],
        "digests": dict(seal.digests),
        # the version that sealed it (a seal recorded before v2 of MonthSealed: this one)
        "software_version": seal.software_version or __version__,
        "public_key": public_key_text(key.public_key()),
    }
    document["signature"] = base64.b64encode(key.sign(signed_bytes(document))).decode()
    return document


def file_name(document: dict[str, Any]) -> str:
    return f"seal-{document['aire_id']}-{document['month']}.json"


@dataclass(frozen=True)
class Checked:
    """An attestation read back: its document, and why it cannot be trusted (or None)."""

    document: dict[str, Any]
    untrusted: str | None


def check_signature(document: dict[str, Any], trusted: Ed25519PublicKey) -> str | None:
    """None when ``trusted`` signed the document, else why not."""
    if document.get("public_key") != public_key_text(trusted):
        return "signed with another key than the one trusted"
    try:
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
        trusted.verify(signature, signed_bytes(document))
    except (InvalidSignature, ValueError):
        return "the signature does not match the document"
    return None


def read_dir(directory: Path, trusted: Ed25519PublicKey) -> list[Checked]:
    """Every attestation of a directory (``seal-*.json``), with its signature checked."""
    found = []
    for path in sorted(directory.glob("seal-*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            found.append(Checked({"file": path.name}, "the file is not JSON"))
            continue
        found.append(Checked(document, check_signature(document, trusted)))
    return found
