"""Back up what a term cannot lose: the gradebook, the students' work, the exchange.

Run as root (``jupyterhub-backup.timer`` beside this file runs it every night)::

    /opt/autodiff/venv/bin/python backup.py --course /srv/autodiff/course \\
        --exchange /srv/nbgrader/exchange --to /var/backups/autodiff --keep 14

Each run writes a folder ``<to>/<date>T<time>/`` (mode 0700) holding

* ``gradebook.db``: a consistent copy of the SQLite gradebook taken with SQLite's online backup
  API, safe while ``make grade`` or the formgrader writes to it (a plain ``cp`` is not); with
  ``NBGRADER_DB_URL=postgresql://...`` set, ``gradebook.sql`` from ``pg_dump`` instead;
* ``course-work.tar.gz``: the course's ``submitted/``, ``autograded/``, ``feedback/`` and
  ``release/`` folders and its ``nbgrader_config.py`` (the rest of the course is in git);
* ``exchange.tar.gz``: the whole exchange (releases, hand-ins not yet collected, feedback).

Archives keep owners and modes; restore as root with ``tar -xpzf ... -C /``. Only the newest
``--keep`` backups are kept.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from datetime import datetime
from pathlib import Path

COURSE_WORK = ["submitted", "autograded", "feedback", "release", "nbgrader_config.py"]


def copy_gradebook(course: Path, folder: Path) -> Path:
    """The gradebook into ``folder``: SQLite's backup API, or pg_dump for a database server."""
    url = os.environ.get("NBGRADER_DB_URL", "")
    if url.startswith("postgresql"):
        target = folder / "gradebook.sql"
        with target.open("wb") as out:
            subprocess.run(["pg_dump", "--dbname", url], stdout=out, check=True)
        return target
    if url:
        raise SystemExit(f"backup.py: NBGRADER_DB_URL={url!r}: only SQLite and PostgreSQL")
    source = course / "gradebook.db"
    target = folder / "gradebook.db"
    if not source.exists():
        raise SystemExit(f"backup.py: no gradebook at {source}")
    live = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        live.backup(copy)
    finally:
        copy.close()
        live.close()
    return target


def archive(target: Path, root: Path, names: list[str]) -> Path:
    """``names`` under ``root`` into a gzipped tar, stored with their absolute paths."""
    with tarfile.open(target, "w:gz") as tar:
        for name in names:
            path = root / name
            if path.exists():
                tar.add(path, arcname=str(path).lstrip("/"))
    return target


def prune(to: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` backups; return the removed folders."""
    backups = sorted(p for p in to.iterdir() if p.is_dir() and p.name[:1].isdigit())
    old = backups[:-keep] if keep > 0 else []
    for folder in old:
        shutil.rmtree(folder)
    return old


def back_up(course: Path, exchange: Path, to: Path, keep: int) -> Path:
    to.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = to / datetime.now().strftime("%Y-%m-%dT%H%M%S")
    folder.mkdir(mode=0o700)
    copy_gradebook(course, folder)
    archive(folder / "course-work.tar.gz", course, COURSE_WORK)
    archive(folder / "exchange.tar.gz", exchange.parent, [exchange.name])
    prune(to, keep)
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", type=Path, default=Path("/srv/autodiff/course"))
    parser.add_argument("--exchange", type=Path, default=Path("/srv/nbgrader/exchange"))
    parser.add_argument("--to", type=Path, default=Path("/var/backups/autodiff"))
    parser.add_argument("--keep", type=int, default=14, help="backups kept (0: all)")
    args = parser.parse_args(argv)
    print(back_up(args.course, args.exchange, args.to, args.keep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
