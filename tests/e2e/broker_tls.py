# SPDX-License-Identifier: GPL-2.0
"""Certificates for the TLS tests, made with the openssl CLI in a temporary
directory (removed by broker_lib's atexit, and by the caller's cleanup).

Two CAs: "ca" signs the server (localhost, 127.0.0.1, ::1) and the clients
alice and bob, bob revoked in ca's CRL; "other" signs mallory and nothing
the broker trusts. EC P-256 keys: quick to make."""
import os
import subprocess
import tempfile

from broker_lib import _dirs


def _run(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def _key_csr(d, name, subj):
    _run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj, cwd=d)


def _ca(d, name, cn):
    _run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj",
         f"/CN={cn}", cwd=d)


def _sign(d, name, ca, ext=None):
    args = ["x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2"]
    if ext:
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext)
        args += ["-extfile", f"{name}.ext"]
    _run(*args, cwd=d)


def make_certs():
    """The directory; file names: ca.crt, server.{crt,key}, alice.*, bob.*,
    mallory.*, other.crt, crl.pem."""
    d = tempfile.mkdtemp(prefix="mqbroker-tls-")
    _dirs.append(d)
    _ca(d, "ca", "mqbroker test CA")
    _ca(d, "other", "someone else's CA")
    _key_csr(d, "server", "/CN=localhost")
    _sign(d, "server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
    for name, ca in (("alice", "ca"), ("bob", "ca"), ("mallory", "other")):
        _key_csr(d, name, f"/O=mqlb tests/CN={name}")
        _sign(d, name, ca)
    # A CRL of ca revoking bob: 'openssl ca' needs its little database.
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write(f"[ca]\ndefault_ca = d\n[d]\ndatabase = {d}/index.txt\n"
                f"crlnumber = {d}/crlnumber\ndefault_md = sha256\ndefault_crl_days = 2\n")
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "crlnumber"), "w") as f:
        f.write("01\n")
    _run("ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt", "-revoke",
         "bob.crt", cwd=d)
    _run("ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt", "-gencrl",
         "-out", "crl.pem", cwd=d)
    # Debian's mosquitto, started as root, reads them as the mosquitto user.
    os.chmod(d, 0o755)
    for n in os.listdir(d):
        os.chmod(os.path.join(d, n), 0o644)
    return d
