"""``python -m convguard``: the same command line as the ``convguard`` console script."""

from __future__ import annotations

if __name__ == "__main__":
    from convguard.cli import entry

    entry()
