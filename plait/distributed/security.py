"""Who may talk to a plait cluster: TLS certificates and a shared secret.

A :class:`Security` holds the settings every server and connection of one process
uses: TLS files (CA, one certificate and key per role: client, scheduler, worker), the
minimum TLS version and ciphers, whether plain ``tcp://`` is refused
(``require_encryption``), and a shared ``secret``. Every connection starts with a
handshake (see :mod:`plait.distributed.comm.handshake`); when a secret is set, each side
proves it knows it (HMAC over fresh random challenges) before any message is read, and a
peer that cannot is dropped.

The secret has one name everywhere: ``Security(secret=...)``, the config key
``distributed.security.secret``, the environment variable ``PLAIT_SECRET`` and the
command-line flag ``--secret``.

Arguments left as None come from config (``distributed.security.*``; the secret also
from ``$PLAIT_SECRET``). TLS values may be file paths or PEM text. What a component is
given as ``security=``:

- None: ``Security.from_config()`` (the default; with default config: no TLS, no secret);
- a ``Security``: used as is;
- False: explicitly insecure, whatever the config says (the only way to listen on a
  non-loopback address without TLS or a secret; a warning is logged);
- True (clusters only): ``Security.temporary()``.

>>> sec = Security(secret="s3cret", require_encryption=False)
>>> sec
Security(require_encryption=False, secret='***')
>>> sec.secret_bytes
b's3cret'
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import ssl
import tempfile
from typing import Any

from .. import config

__all__ = ["Security", "SECRET_ENV", "resolve_security"]

logger = logging.getLogger("plait.distributed.security")

#: The environment variable holding the shared secret (used when config has none).
SECRET_ENV = "PLAIT_SECRET"

_ROLES = ("client", "scheduler", "worker")
_TLS_VERSIONS = {
    None: ssl.TLSVersion.TLSv1_2, "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3, "tls1.2": ssl.TLSVersion.TLSv1_2,
    "tls1.3": ssl.TLSVersion.TLSv1_3, "tlsv1.2": ssl.TLSVersion.TLSv1_2,
    "tlsv1.3": ssl.TLSVersion.TLSv1_3, 1.2: ssl.TLSVersion.TLSv1_2,
    1.3: ssl.TLSVersion.TLSv1_3,
}
# Field name -> config key (under distributed.security.)
_FIELDS = {
    "require_encryption": "require-encryption",
    "tls_ca_file": "tls.ca-file",
    "tls_ciphers": "tls.ciphers",
    "tls_min_version": "tls.min-version",
    "tls_client_key": "tls.client.key",
    "tls_client_cert": "tls.client.cert",
    "tls_scheduler_key": "tls.scheduler.key",
    "tls_scheduler_cert": "tls.scheduler.cert",
    "tls_worker_key": "tls.worker.key",
    "tls_worker_cert": "tls.worker.cert",
    "secret": "secret",
}
_HIDDEN = ("secret", "tls_client_key", "tls_scheduler_key", "tls_worker_key")


def _is_pem(value: str) -> bool:
    return "-----BEGIN" in value


class Security:
    """TLS and shared-secret settings for a plait process.

    Parameters
    ----------
    require_encryption : bool, optional
        Refuse plain ``tcp://`` addresses (listening and connecting); only ``tls://``
        (and in-process ``inproc://``) are allowed.
    tls_ca_file : str, optional
        The certificate authority that signed every peer's certificate (path or PEM).
    tls_ciphers : str, optional
        OpenSSL cipher string for TLS 1.2 (TLS 1.3 suites are OpenSSL's defaults).
    tls_client_key, tls_client_cert, tls_scheduler_key, tls_scheduler_cert,
    tls_worker_key, tls_worker_cert : str, optional
        Key and certificate (path or PEM text) each role presents; a certificate file
        may hold the key too.
    tls_min_version : str, optional
        "1.2" (default) or "1.3".
    secret : str or bytes, optional
        Shared secret every peer must prove it knows (``distributed.security.secret``,
        ``$PLAIT_SECRET``, ``--secret``).

    Any argument left None comes from config. TLS connections verify the peer's
    certificate against the CA on both sides (mutual TLS); host names are not checked,
    because workers are reached by IP address and one certificate may serve a cluster.
    """

    def __init__(self, require_encryption: bool | None = None, tls_ca_file: str | None = None,
                 tls_ciphers: str | None = None, tls_client_key: str | None = None,
                 tls_client_cert: str | None = None, tls_scheduler_key: str | None = None,
                 tls_scheduler_cert: str | None = None, tls_worker_key: str | None = None,
                 tls_worker_cert: str | None = None, tls_min_version: str | None = None,
                 secret: str | bytes | None = None) -> None:
        given = dict(
            require_encryption=require_encryption, tls_ca_file=tls_ca_file,
            tls_ciphers=tls_ciphers, tls_client_key=tls_client_key,
            tls_client_cert=tls_client_cert, tls_scheduler_key=tls_scheduler_key,
            tls_scheduler_cert=tls_scheduler_cert, tls_worker_key=tls_worker_key,
            tls_worker_cert=tls_worker_cert, tls_min_version=tls_min_version, secret=secret,
        )
        for name, value in given.items():
            if value is None:
                value = config.get("distributed.security." + _FIELDS[name], None)
            if name == "secret" and value in (None, ""):
                value = os.environ.get(SECRET_ENV) or None
            setattr(self, name, value)
        self.require_encryption = bool(self.require_encryption)
        if self.secret is not None and not isinstance(self.secret, (str, bytes)):
            # A number read from YAML or the environment: use its text.
            self.secret = str(self.secret)
        if self.secret == "" or self.secret == b"":
            self.secret = None
        if self.tls_min_version not in _TLS_VERSIONS:
            raise ValueError(f"tls_min_version must be '1.2' or '1.3', "
                             f"got {self.tls_min_version!r}")
        for name in _FIELDS:
            value = getattr(self, name)
            if name.startswith("tls_") and value is not None and not isinstance(value, str):
                raise TypeError(f"Security({name}=...) takes a file path or PEM text, "
                                f"got {type(value).__name__}")
        self.insecure = False  # True only for the explicit opt-out (security=False)
        self._contexts: dict = {}

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def from_config(cls) -> Security:
        """Settings from config ``distributed.security.*`` (secret also ``$PLAIT_SECRET``)."""
        return cls()

    @classmethod
    def insecure_opt_in(cls) -> Security:
        """No TLS and no secret, whatever config says: what ``security=False`` means."""
        sec = cls.__new__(cls)
        for name in _FIELDS:
            setattr(sec, name, None)
        sec.require_encryption = False
        sec.insecure = True
        sec._contexts = {}
        return sec

    @classmethod
    def temporary(cls, secret: str | bytes | None = None) -> Security:
        """A throwaway CA and certificate made now, held in memory (no file written);
        every role uses the same certificate; ``require_encryption`` is True.

        Meant for one cluster started by one process (``LocalCluster(security=True)``):
        hand the same object (it pickles) to every process of the cluster.
        """
        ca_pem, cert_pem, key_pem = _self_signed()
        return cls(require_encryption=True, tls_ca_file=ca_pem,
                   tls_client_cert=cert_pem, tls_client_key=key_pem,
                   tls_scheduler_cert=cert_pem, tls_scheduler_key=key_pem,
                   tls_worker_cert=cert_pem, tls_worker_key=key_pem, secret=secret)

    # -- queries --------------------------------------------------------------------------
    @property
    def secret_bytes(self) -> bytes | None:
        """The shared secret as bytes (UTF-8 for text), or None."""
        if self.secret is None:
            return None
        return self.secret.encode() if isinstance(self.secret, str) else bytes(self.secret)

    def cert_and_key(self, role: str) -> tuple[str | None, str | None]:
        """The (certificate, key) that ``role`` presents."""
        if role not in _ROLES:
            raise ValueError(f"role must be one of {', '.join(_ROLES)}; got {role!r}")
        return getattr(self, f"tls_{role}_cert"), getattr(self, f"tls_{role}_key")

    def has_tls(self, role: str) -> bool:
        """Whether ``role`` has what a ``tls://`` connection needs (CA and certificate)."""
        cert, _ = self.cert_and_key(role)
        return bool(self.tls_ca_file and cert)

    def ssl_context(self, role: str, server_side: bool) -> ssl.SSLContext:
        """The TLS context ``role`` uses to listen (``server_side``) or to connect.

        Both sides present their certificate and verify the peer's against the CA.
        Raises ValueError naming the missing settings.
        """
        cached = self._contexts.get((role, server_side))
        if cached is not None:
            return cached
        cert, key = self.cert_and_key(role)
        missing = [name for name, value in (("tls_ca_file", self.tls_ca_file),
                                            (f"tls_{role}_cert", cert)) if not value]
        if missing:
            raise ValueError(
                f"a tls:// connection for the {role} needs {' and '.join(missing)}: pass "
                f"Security({', '.join(m + '=...' for m in missing)}) (paths or PEM text), "
                f"set distributed.security.tls.* in config, or use "
                f"Security.temporary() for a self-signed cluster")
        purpose = ssl.Purpose.CLIENT_AUTH if server_side else ssl.Purpose.SERVER_AUTH
        ca = self.tls_ca_file
        if _is_pem(ca):
            ctx = ssl.create_default_context(purpose, cadata=ca)
        else:
            ctx = ssl.create_default_context(purpose, cafile=ca)
        # Peers are reached by IP address and share cluster-wide certificates: the CA
        # signature is what is checked, not the host name.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.minimum_version = _TLS_VERSIONS[self.tls_min_version]
        if self.tls_ciphers:
            ctx.set_ciphers(self.tls_ciphers)
        _load_cert_chain(ctx, cert, key)
        self._contexts[(role, server_side)] = ctx
        return ctx

    # -- pickling and display -------------------------------------------------------------
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_contexts"] = {}  # SSL contexts do not pickle; rebuilt on first use
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Security)
                and all(getattr(self, n) == getattr(other, n) for n in _FIELDS)
                and self.insecure == other.insecure)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = []
        if self.insecure:
            parts.append("insecure=True")
        for name in _FIELDS:
            value = getattr(self, name)
            if name == "require_encryption":
                parts.append(f"require_encryption={value}")
            elif value is None:
                continue
            elif name in _HIDDEN:
                parts.append(f"{name}='***'")  # never shown: secret and private keys
            elif isinstance(value, str) and _is_pem(value):
                parts.append(f"{name}=<PEM text>")
            else:
                parts.append(f"{name}={value!r}")
        return f"Security({', '.join(parts)})"


def resolve_security(security: Any) -> Security:
    """The ``Security`` a component uses for its ``security=`` argument.

    >>> resolve_security(False).insecure
    True
    >>> resolve_security(Security(secret="x")).secret
    'x'
    """
    if security is None:
        return Security.from_config()
    if security is False:
        return Security.insecure_opt_in()
    if isinstance(security, Security):
        return security
    if security is True:
        raise TypeError("security=True (a temporary self-signed Security) only applies "
                        "to a cluster; elsewhere pass the cluster's Security object, "
                        "e.g. Client(cluster) or security=cluster.security")
    raise TypeError(f"security= takes a plait.distributed.Security, None (from config) "
                    f"or False (explicitly insecure), got {type(security).__name__}")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost: assume reachable
        return False


def _load_cert_chain(ctx: ssl.SSLContext, cert: str, key: str | None) -> None:
    """Load a certificate and key given as paths or PEM text. OpenSSL reads only files,
    so PEM text goes through a private temporary directory, removed at once."""
    if not _is_pem(cert) and (key is None or not _is_pem(key)):
        ctx.load_cert_chain(cert, key)
        return
    with tempfile.TemporaryDirectory(prefix="plait-tls-") as tmp:  # mode 0700
        paths = []
        for name, value in (("cert.pem", cert), ("key.pem", key)):
            if value is None or not _is_pem(value):
                paths.append(value)
                continue
            path = os.path.join(tmp, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(value)
            paths.append(path)
        ctx.load_cert_chain(paths[0], paths[1])


def _self_signed() -> tuple[str, str, str]:
    """PEM text of a new CA certificate, and a certificate and key it signed (for
    localhost, 127.0.0.1 and ::1; valid a year). Elliptic-curve keys: made in
    microseconds, where RSA takes a noticeable fraction of a second."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=365)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "plait temporary CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"),
             x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "plait")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return (ca_cert.public_bytes(pem).decode(), cert.public_bytes(pem).decode(), key_pem)
