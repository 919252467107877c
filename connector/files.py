"""Folders and files that hold debtors' personal data: owner-only from their first byte."""

from __future__ import annotations

from pathlib import Path

from connector.errors import ConfigError


def private_dir(path: Path) -> None:
    """Create ``path`` and each missing folder above it owner-only (0700): the state holds
    debtors' personal data (``mkdir(parents=True)`` would give the parents the umask's mode)."""
    try:
        for folder in [*reversed(path.parents), path]:
            if not folder.is_dir():
                folder.mkdir(mode=0o700, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"cannot create the state folder {path}: a file of that name is "
                          "in the way") from None
    except OSError as exc:
        raise ConfigError(f"cannot create the state folder {path}: {exc.strerror}") from None
