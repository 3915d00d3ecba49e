"""Portable proofs about the audit log (RFC 9162 §2.1.3-2.1.4), checked offline.

A proof file holds one record, the signed tree head of the whole log when the proof was made,
the record's inclusion proof in that tree, and a consistency proof from the first signed head
that covered the record to that tree head. :func:`check_proof` needs only the file and the audit
public key: no mesh, no log.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from governance.audit.log import (
    AuditError,
    AuditLog,
    encode_line,
    key_fingerprint,
    signed_by,
)
from governance.audit.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

FORMAT = "mesh-audit-proof/1"
#: Far more than any proof (a record, a signed tree head and two paths of hashes, a few KiB):
#: ``mesh audit verify-proof`` reads no more of the file it is given.
MAX_PROOF_BYTES = 16 * 2**20


def build_proof(log: AuditLog, seq: int) -> dict[str, Any]:
    """The proof that record ``seq`` is in the log, under a head signed now."""
    head = log.checkpoint()
    leaves = [leaf_hash(h) for h in log.leaf_hashes()[:head["size"]]]
    if not 0 <= seq < len(leaves):
        raise AuditError(f"there is no record {seq}; the log has {len(leaves)}", where=log.where,
                         fix=f"name a record from 0 to {len(leaves) - 1} (`mesh audit query --json` shows each seq)")
    record = next(r for r in log.records() if r.seq == seq)
    proof: dict[str, Any] = {
        "format": FORMAT, "key_fingerprint": key_fingerprint(log.signer.public_key()),
        "record": {**record.body(), "hash": record.hash}, "tree_head": head,
        "inclusion": [h.hex() for h in inclusion_proof(leaves, seq)]}
    first = min((cp for cp in log.signed_heads() if cp["size"] > seq), key=lambda cp: cp["size"])
    if first["size"] < head["size"]:
        proof["consistency"] = {"from": first,
                                "proof": [h.hex() for h in consistency_proof(leaves, first["size"])]}
    return proof


def check_proof(proof: dict[str, Any], public: Ed25519PublicKey) -> str:
    """Check a proof file's content with the audit public key; return what it proves, or raise
    :class:`AuditError` naming what does not hold."""
    def bad(what: str) -> AuditError:
        return AuditError(f"the proof does not hold: {what}", where="proof file",
                          fix="ask for a new proof (mesh audit prove SEQ --out FILE); a changed proof is forged")

    try:
        if proof.get("format") != FORMAT:
            raise bad(f"its format is not {FORMAT}")
        record, head = dict(proof["record"]), proof["tree_head"]
        stored = record.pop("hash")
        _, digest = encode_line(record)
        if digest != stored:
            raise bad(f"record {record.get('seq')} does not match its hash (it was changed)")
        if not signed_by(public, head):
            raise bad(f"the tree head of {head.get('size')} records is not signed by key {key_fingerprint(public)}")
        path = [bytes.fromhex(h) for h in proof["inclusion"]]
        if not verify_inclusion(record["seq"], head["size"], leaf_hash(bytes.fromhex(stored)), path,
                                bytes.fromhex(head["root"])):
            raise bad(f"record {record['seq']} is not in the signed tree of {head['size']} records")
        said = f"record {record['seq']} ({record['action']} by {record['actor']}) is in the signed log of {head['size']}"
        if "consistency" in proof:
            old = proof["consistency"]["from"]
            steps = [bytes.fromhex(h) for h in proof["consistency"]["proof"]]
            if not signed_by(public, old):
                raise bad(f"the earlier tree head of {old.get('size')} records is not signed by this key")
            if not verify_consistency(old["size"], head["size"], bytes.fromhex(old["root"]),
                                      bytes.fromhex(head["root"]), steps):
                raise bad(f"the log of {head['size']} records does not extend the one of {old['size']}")
            said += f"; that log extends the signed log of {old['size']} (nothing before was rewritten)"
        return said
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise bad(f"it is malformed ({type(exc).__name__}: {exc})") from None
