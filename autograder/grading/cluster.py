"""A Dask cluster that grades only for whoever holds the course's keys.

Every connection to the scheduler, a worker or the grader is TLS, and each side shows a certificate signed by the
course's own authority: a client without one cannot submit work, read what a worker holds or rewrite a result.
`make_keys(DIR)` (`babygrad-course cluster-keys DIR`) writes that authority's certificate and one certificate with
its key for each role; the authority's own key is deleted once they are signed, so no further one can be made.

    dask scheduler --tls-ca-file DIR/ca.pem --tls-cert DIR/scheduler.pem --tls-key DIR/scheduler.pem
    dask worker tls://HOST:8786 --tls-ca-file DIR/ca.pem --tls-cert DIR/worker.pem --tls-key DIR/worker.pem
    babygrad-course grade CHAPTER --scheduler tls://HOST:8786 --keys DIR
"""
import os
import subprocess
import tempfile
from pathlib import Path

ROLES = ("scheduler", "worker", "client")
DAYS = 365


def make_keys(folder):
    """The authority's certificate (ca.pem) and ROLE.pem, a certificate and its key, for each role, in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    with tempfile.TemporaryDirectory(prefix="babygrad-keys-") as private:
        authority = Path(private) / "ca.key"
        openssl("req", "-x509", *new_key(authority), "-out", folder / "ca.pem", "-days", DAYS,
                "-subj", "/CN=babygrad grading authority")
        for role in ROLES:
            key, request, certificate = (Path(private) / f"{role}.{kind}" for kind in ("key", "csr", "crt"))
            openssl("req", *new_key(key), "-out", request, "-subj", f"/CN=babygrad {role}")
            openssl("x509", "-req", "-in", request, "-CA", folder / "ca.pem", "-CAkey", authority,
                    "-CAcreateserial", "-CAserial", Path(private) / "ca.srl", "-out", certificate, "-days", DAYS)
            pem = folder / f"{role}.pem"
            pem.write_bytes(certificate.read_bytes() + key.read_bytes())
            os.chmod(pem, 0o600)
    return folder


def new_key(path):
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path]


def openssl(*arguments):
    subprocess.run(["openssl", *map(str, arguments)], check=True, capture_output=True)


def security(folder):
    """distributed's Security from the keys in `folder`: TLS only, certificates required, each role with its own
    certificate where `folder` holds it (the grader needs only ca.pem and client.pem)."""
    from distributed.security import Security
    folder = Path(folder)
    missing = [name for name in ("ca.pem", "client.pem") if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"no {' or '.join(missing)} in {folder}: make them with babygrad-course cluster-keys")
    roles = {f"tls_{role}_{part}": str(folder / f"{role}.pem") for role in ROLES for part in ("cert", "key")
             if (folder / f"{role}.pem").is_file()}
    return Security(require_encryption=True, tls_ca_file=str(folder / "ca.pem"), **roles)
