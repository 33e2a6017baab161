"""Ed25519 signatures in minisign's format, so subscribers verify with ``minisign -V``.

Formats (https://jedisct1.github.io/minisign/):
- public key file: an untrusted comment line, then base64("Ed" + key id (8 bytes) + key (32 bytes));
- signature file: an untrusted comment line; base64("ED" + key id + signature of
  BLAKE2b-512(file)); ``trusted comment: ...``; base64(signature of the first
  signature + the trusted comment). The prehashed ("ED") form signs files of any size.
- secret key: kept in our own small format (not minisign's encrypted one) in the
  workspace's ``keys/`` folder, readable by its owner only.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from briefings.documents import write_atomically
from briefings.errors import PublishError

SECRET_NAME = "signing.key"
PUBLIC_NAME = "briefings.pub"
_SECRET_HEADER = "briefings ed25519 secret key v1"


@dataclass(frozen=True)
class PublicKey:
    key_id: bytes
    key: Ed25519PublicKey

    def minisign_text(self) -> str:
        raw = self.key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        blob = base64.b64encode(b"Ed" + self.key_id + raw).decode()
        return f"untrusted comment: minisign public key {self.key_id[::-1].hex().upper()}\n{blob}\n"

    @classmethod
    def from_text(cls, text: str) -> PublicKey:
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            blob = base64.b64decode(lines[-1], validate=True)
        except (IndexError, ValueError):
            raise PublishError("not a minisign public key") from None
        if len(blob) != 42 or blob[:2] != b"Ed":
            raise PublishError("not a minisign Ed25519 public key")
        return cls(blob[2:10], Ed25519PublicKey.from_public_bytes(blob[10:]))


@dataclass(frozen=True)
class SigningKey:
    key_id: bytes
    key: Ed25519PrivateKey

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.key_id, self.key.public_key())

    def sign(self, data: bytes, trusted_comment: str) -> str:
        """A minisign signature file (prehashed, "ED") of ``data``."""
        if "\n" in trusted_comment:
            raise ValueError("a trusted comment is one line")
        digest = hashlib.blake2b(data, digest_size=64).digest()
        signature = self.key.sign(digest)
        global_signature = self.key.sign(signature + trusted_comment.encode("utf-8"))
        return (
            f"untrusted comment: signature from briefings key {self.key_id[::-1].hex().upper()}\n"
            f"{base64.b64encode(b'ED' + self.key_id + signature).decode()}\n"
            f"trusted comment: {trusted_comment}\n"
            f"{base64.b64encode(global_signature).decode()}\n"
        )


def verify(data: bytes, signature_text: str, public: PublicKey) -> str:
    """Check a minisign signature of ``data``; returns the trusted comment, PublishError if invalid."""
    lines = signature_text.splitlines()
    if len(lines) < 4 or not lines[2].startswith("trusted comment: "):
        raise PublishError("malformed minisign signature file")
    try:
        blob = base64.b64decode(lines[1], validate=True)
        global_signature = base64.b64decode(lines[3], validate=True)
    except ValueError:
        raise PublishError("malformed minisign signature file") from None
    if len(blob) != 74 or blob[:2] not in (b"ED", b"Ed"):
        raise PublishError("unsupported signature algorithm")
    if blob[2:10] != public.key_id:
        raise PublishError("signed by another key")
    message = hashlib.blake2b(data, digest_size=64).digest() if blob[:2] == b"ED" else data
    trusted = lines[2][len("trusted comment: ") :]
    try:
        public.key.verify(blob[10:], message)
        public.key.verify(global_signature, blob[10:] + trusted.encode("utf-8"))
    except InvalidSignature:
        raise PublishError("signature does not match: the file was changed or forged") from None
    return trusted


def load_or_create_key(keys_dir: Path) -> SigningKey:
    """The workspace's signing key, made on first use (owner-only permissions)."""
    secret_path = keys_dir / SECRET_NAME
    if secret_path.exists():
        return read_secret(secret_path)
    return create_key(keys_dir)


def create_key(keys_dir: Path) -> SigningKey:
    secret_path = keys_dir / SECRET_NAME
    if secret_path.exists():
        raise PublishError(f"{secret_path} already exists; not replacing a signing key")
    keys_dir.mkdir(parents=True, exist_ok=True)
    key = SigningKey(os.urandom(8), Ed25519PrivateKey.generate())
    raw = key.key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    text = f"{_SECRET_HEADER}\n{base64.b64encode(key.key_id + raw).decode()}\n"
    fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    write_atomically(keys_dir / PUBLIC_NAME, key.public.minisign_text().encode())
    return key


def read_secret(path: Path) -> SigningKey:
    lines = path.read_text().splitlines()
    if not lines or lines[0] != _SECRET_HEADER:
        raise PublishError(f"{path} is not a briefings signing key")
    blob = base64.b64decode(lines[1])
    return SigningKey(blob[:8], Ed25519PrivateKey.from_private_bytes(blob[8:40]))
