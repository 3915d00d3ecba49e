"""Protection at rest of classified columns, as ``mesh.toml`` says for each classification.

- ``tokenize``: deterministic AES-SIV tokens (``tok:...``). Equal values give equal tokens in
  every asset, so tokenized columns still join. Values that already are valid tokens (an
  input's tokens passed on) are kept.
- ``encrypt``: AES-256-GCM (``enc:...``, a random nonce per value) with a key made for each
  published version, stored in the manifest wrapped by the KEK.
- ``redact``: the value is not stored at all.

Readers holding ``decrypt:<classification>`` get plaintext back; others see tokens, and
``[redacted]`` for encrypted values.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV

from assets.errors import ConfigError, MeshError
from governance.policy import MeshPolicy
from governance.protection.keys import Keyring, WrappedKey, dek_aad

TOKEN, CIPHER, REDACTED = "tok:", "enc:", "[redacted]"


@dataclass(frozen=True, slots=True)
class Protected:
    """A frame ready to store: ``protection`` maps column -> ``method:classification``."""

    frame: pl.DataFrame
    protection: dict[str, str]
    data_key: WrappedKey | None


def classified_columns(contract: type[pa.DataFrameModel]) -> dict[str, str]:
    """Columns whose contract metadata carries a classification, with it."""
    return {name: str(col.metadata["classification"]) for name, col in contract.to_schema().columns.items()
            if col.metadata and col.metadata.get("classification")}


def protect(frame: pl.DataFrame, classified: Mapping[str, str], policy: MeshPolicy, keyring: Keyring,
            *, key: str) -> Protected:
    """Protect each classified column of ``frame`` (the asset ``key``) as the policy says."""
    protection: dict[str, str] = {}
    dek: bytes | None = None
    columns = []
    for column, classification in classified.items():
        if classification not in policy.classifications:
            raise ConfigError(f"column '{column}' of '{key}' is classified '{classification}', which mesh.toml "
                              "does not declare", where=f"{policy.path.name} [classification]",
                              fix=f"add [classification.{classification}] with a protection, or fix the metadata")
        method = policy.classifications[classification].protection
        if method == "none" or column not in frame.columns:
            continue
        series = frame[column]
        if method == "tokenize":
            series = tokenize(series, keyring.tokenization_key(classification))
        elif method == "encrypt":
            dek = dek or AESGCM.generate_key(bit_length=256)
            series = encrypt(series, dek, aad=f"{key}:{column}".encode())
        else:
            series = pl.Series(column, [None] * len(series), dtype=pl.String)
        columns.append(series.alias(column))
        protection[column] = f"{method}:{classification}"
    wrapped = keyring.provider.wrap(dek, dek_aad(key)) if dek else None
    return Protected(frame.with_columns(columns) if columns else frame, protection, wrapped)


def redact_plaintext_now_classified(frame: pl.LazyFrame, protection: Mapping[str, str],
                                    classified: Mapping[str, str], policy: MeshPolicy, *,
                                    permissions: AbstractSet[str]) -> pl.LazyFrame:
    """``frame`` of a version stored before its columns were classified (or while a
    classification was taken off the contract): a column the current contract classifies, under
    a protection other than ``none``, that the version holds in plaintext is ``[redacted]`` for a
    reader without ``decrypt:<classification>``. Time travel never shows more than today's read."""
    exposed = [column for column, classification in classified.items()
               if column not in protection and f"decrypt:{classification}" not in permissions
               and getattr(policy.classifications.get(classification), "protection", None) != "none"]
    present = set(frame.collect_schema().names()) if exposed else set()
    return frame.with_columns(
        pl.when(pl.col(c).is_not_null()).then(pl.lit(REDACTED)).otherwise(pl.lit(None, pl.String)).alias(c)
        for c in exposed if c in present)


class ProtectionError(MeshError):
    """Stored protected data or its data key is corrupt: it cannot be turned back into plaintext."""


#: What a corrupt token or cipher text raises while it is decoded and decrypted.
_CORRUPT = (InvalidTag, ValueError, binascii.Error, UnicodeDecodeError)
_RESTORE = "restore the version from the other region or a backup (mesh dr restore), or materialize the asset again"


def unprotect(frame: pl.DataFrame, protection: Mapping[str, str], data_key: Mapping[str, str] | None,
              keyring: Keyring, *, key: str, permissions: AbstractSet[str], folder: str = "") -> pl.DataFrame:
    """Plaintext for the classifications in ``permissions`` (``decrypt:<class>``); tokens or
    ``[redacted]`` for the others. ``folder`` (the version's) is named when stored data is
    corrupt: a :class:`ProtectionError`, never a traceback."""
    columns = []
    dek: bytes | None = None
    data_file, manifest_file = f"{folder}/data.parquet", f"{folder}/manifest.json"
    for column, spec in protection.items():
        if column not in frame.columns:
            continue
        method, classification = spec.split(":", 1)
        allowed = f"decrypt:{classification}" in permissions
        if method == "tokenize" and allowed:
            siv_key = keyring.tokenization_key(classification)
            try:
                columns.append(detokenize(frame[column], siv_key))
            except _CORRUPT as exc:
                raise ProtectionError(f"column '{column}' of '{key}' holds a token that does not decrypt "
                                      f"(tampered or corrupt: {type(exc).__name__})", where=data_file,
                                      fix=_RESTORE) from None
        elif method == "encrypt":
            if not allowed:
                columns.append(pl.Series(column, [REDACTED if v is not None else None for v in frame[column]]))
                continue
            if dek is None:
                if not isinstance(data_key, Mapping):
                    raise ProtectionError(f"the manifest of '{key}' has no data key for its encrypted column "
                                          f"'{column}'", where=manifest_file, fix=_RESTORE)
                try:
                    wrapped = WrappedKey.from_dict(dict(data_key))
                except TypeError as exc:
                    raise ProtectionError(f"the data key in the manifest of '{key}' is corrupt ({exc})",
                                          where=manifest_file, fix=_RESTORE) from None
                dek = keyring.provider.unwrap(wrapped, dek_aad(key))
            try:
                columns.append(decrypt(frame[column], dek, aad=f"{key}:{column}".encode()))
            except _CORRUPT as exc:
                raise ProtectionError(f"column '{column}' of '{key}' holds a value that does not decrypt "
                                      f"(tampered or corrupt: {type(exc).__name__})", where=data_file,
                                      fix=_RESTORE) from None
    return frame.with_columns(columns) if columns else frame


def tokenize(series: pl.Series, key: bytes) -> pl.Series:
    """Deterministic tokens. When values repeat, each distinct value is encrypted once and the
    column mapped in polars; when they mostly do not, the column is encrypted in order."""
    siv = AESSIV(key)
    values = series.cast(pl.String)
    distinct = values.drop_nulls().unique()
    if len(distinct) * 2 > len(values):
        return _tokens(values, siv).alias(series.name)
    return values.replace_strict(distinct, _tokens(distinct, siv), default=None, return_dtype=pl.String)


def _tokens(values: pl.Series, siv: AESSIV) -> pl.Series:
    """The token of each value, in order; values that already are valid tokens are kept (each
    distinct one is decrypted once to prove it genuine: a ``tok:`` prefix alone proves nothing)."""
    prefixed = values.filter(values.str.starts_with(TOKEN)).unique()
    kept = _genuine_tokens(prefixed, siv) if len(prefixed) else set()
    if kept and len(kept) == len(prefixed) and prefixed.len() == values.drop_nulls().n_unique():
        return values  # every value already is a genuine token (an input read from the mesh)
    raw = [None if v is None or v in kept else siv.encrypt(v.encode(), None) for v in values]
    encoded = pl.Series(raw, dtype=pl.Binary).bin.encode("base64")
    return pl.select(pl.when(pl.lit(values).is_in(list(kept))).then(pl.lit(values))
                     .otherwise(TOKEN + pl.lit(encoded))).to_series()


def detokenize(series: pl.Series, key: bytes) -> pl.Series:
    siv = AESSIV(key)
    distinct = series.drop_nulls().unique()
    plain = [siv.decrypt(base64.b64decode(v[len(TOKEN):]), None).decode() if v.startswith(TOKEN) else v
             for v in distinct]
    return series.replace_strict(distinct, plain, default=None, return_dtype=pl.String)


def encrypt(series: pl.Series, dek: bytes, *, aad: bytes) -> pl.Series:
    """``enc:`` + base64(nonce + AES-GCM ciphertext) of each value, a random nonce per value."""
    gcm = AESGCM(dek)
    values = series.cast(pl.String)
    nonces = os.urandom(12 * len(values))
    raw = [None if v is None else nonces[i * 12:i * 12 + 12] + gcm.encrypt(nonces[i * 12:i * 12 + 12], v.encode(), aad)
           for i, v in enumerate(values)]
    return pl.select(CIPHER + pl.lit(pl.Series(raw, dtype=pl.Binary)).bin.encode("base64")).to_series().alias(series.name)


def decrypt(series: pl.Series, dek: bytes, *, aad: bytes) -> pl.Series:
    gcm = AESGCM(dek)
    raw = series.str.strip_prefix(CIPHER).str.decode("base64")
    out = [None if r is None else gcm.decrypt(r[:12], r[12:], aad).decode() for r in raw]
    return pl.Series(series.name, out, dtype=pl.String)


def _genuine_tokens(prefixed: pl.Series, siv: AESSIV) -> set[str]:
    """The values of ``prefixed`` (distinct, ``tok:``-prefixed) that decrypt under ``siv``."""
    decoded = prefixed.str.strip_prefix(TOKEN).str.decode("base64", strict=False)
    genuine = set()
    for value, raw in zip(prefixed, decoded, strict=True):
        if raw is None:
            continue
        try:
            siv.decrypt(raw, None)
        except (InvalidTag, ValueError):
            continue
        genuine.add(value)
    return genuine
