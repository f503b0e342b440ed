"""Guards of a run's outputs: never an input, never one path twice, one run at a time.

A run writes and removes files (its outputs, the staging folders, the stale outputs
of an earlier run). :func:`check_output_paths` refuses, before anything is read,
every such path that is, or lies inside, an input of the run, whatever its
spelling (``./``, ``..``, a symbolic link, a hard link, another case on a
case-insensitive file system), and two outputs that are one file. :class:`OutputLock`
makes a second run into the same folder fail at once instead of silently
replacing the first one's outputs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError, OutputError

__all__ = [
    "LOCK_NAME",
    "OutputLock",
    "check_output_folders",
    "check_output_paths",
    "input_files",
    "resolve",
]

LOCK_NAME = ".coverage.lock"

_SIDECARS = {
    ".shp": (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".shp.xml"),
}


def resolve(path: str | Path) -> Path:
    """Return the absolute, symlink-free spelling of ``path`` (it may not exist)."""
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def input_files(path: str | Path) -> list[Path]:
    """Return the files that reading ``path`` touches (a Shapefile's sidecars too)."""
    path = Path(path)
    out = [path]
    for suffix in _SIDECARS.get(path.suffix.lower(), ()):
        out.append(path.with_name(path.stem + suffix))
    return out


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _key(path: Path) -> str:
    return os.path.normcase(str(path))


def _inside(path: Path, folder: Path) -> bool:
    return _key(path).startswith(_key(folder).rstrip(os.sep) + os.sep)


def check_output_paths(
    outputs: Iterable[tuple[str, str | Path]],
    inputs: Iterable[tuple[str, str | Path]],
) -> None:
    """Refuse outputs that alias an input, or each other, naming both paths.

    Parameters
    ----------
    outputs
        ``(option, path)`` of every file the run may write or remove, and of every
        folder it writes into (``("--out", folder)``): a folder output must not be
        an input file nor lie inside an input folder either.
    inputs
        ``(option, path)`` of every file or folder the run reads.

    Raises
    ------
    InputError
        On the first output that is an input, lies inside an input folder, or is
        the same file as another output; ``--overwrite`` never permits these.

    Examples
    --------
    >>> check_output_paths(  # doctest: +ELLIPSIS
    ...     [("--map", "in/points.csv")], [("--points", "in/points.csv")]
    ... )
    Traceback (most recent call last):
    ...
    coverage.errors.InputError: --map in/points.csv is the input --points ...
    """
    ins: list[tuple[str, Path, Path]] = []
    for option, given in inputs:
        for file in input_files(given):
            ins.append((option, Path(given), resolve(file)))
    seen: dict[str, tuple[str, Path]] = {}
    for option, given in outputs:
        real = resolve(given)
        for in_option, in_given, in_real in ins:
            alias = _key(real) == _key(in_real) or (
                real.exists() and in_real.exists() and _same_file(real, in_real)
            )
            if alias:
                msg = (
                    f"{option} {given} is the input {in_option} {in_given}; writing "
                    f"there would destroy it: choose another {option} (--overwrite "
                    "never replaces an input)"
                )
                raise InputError(msg)
            if in_real.is_dir() and (
                _inside(real, in_real) or _key(real) == _key(in_real)
            ):
                msg = (
                    f"{option} {given} lies inside the input folder {in_option} "
                    f"{in_given}, which this run reads: choose another {option}"
                )
                raise InputError(msg)
        key = _key(real)
        twin = seen.get(key)
        if twin is None and real.exists():
            twin = next((v for k, v in seen.items() if _same_file(Path(k), real)), None)
        if twin is not None:
            msg = (
                f"{option} {given} and {twin[0]} {twin[1]} are the same file; "
                f"choose another {option}"
            )
            raise InputError(msg)
        seen[key] = (option, Path(given))


def check_output_folders(
    folders: Iterable[tuple[str, str | Path]],
    inputs: Iterable[tuple[str, str | Path]],
) -> None:
    """Refuse an input that lies inside a folder the run fills with files it names.

    Parameters
    ----------
    folders
        ``(option, folder)`` of folders whose files are outputs not known in
        advance (``OUT/by_province`` of ``--by province``).
    inputs
        ``(option, path)`` of every file or folder the run reads.

    Raises
    ------
    InputError
        Naming the folder and the input inside it.
    """
    ins = [
        (option, given, resolve(file))
        for option, given in inputs
        for file in input_files(given)
    ]
    for option, folder in folders:
        real = resolve(folder)
        for in_option, in_given, in_real in ins:
            if _inside(in_real, real) or _key(in_real) == _key(real):
                msg = (
                    f"{option} {folder} would be rewritten by this run, and it holds "
                    f"the input {in_option} {in_given}: move the input out of it or "
                    f"choose another {option}"
                )
                raise InputError(msg)


class OutputLock:
    """An exclusive lock on an output folder, held while a run writes into it.

    The lock is an advisory lock on ``LOCK_NAME`` in the folder, released by the
    operating system when the process ends (also when it is killed), so a stale
    lock never blocks a later run.

    Parameters
    ----------
    folder
        The run's ``--out`` folder (created if missing).
    option
        The option that chose the folder, named in the messages.
    """

    def __init__(self, folder: str | Path, *, option: str = "--out") -> None:
        self.folder = Path(folder)
        self.option = option
        self._fd: int | None = None
        self._created: list[Path] = []

    def acquire(self) -> None:
        """Take the lock or raise :class:`OutputError` naming the folder."""
        missing = [p for p in (self.folder, *self.folder.parents) if not p.exists()]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._created = missing
            fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            self._remove_created()
            msg = (
                f"{self.folder}: cannot write outputs here ({exc.strerror}); "
                f"choose a writable folder with {self.option}"
            )
            raise OutputError(msg) from None
        if not _try_lock(fd) or not _still_linked(fd, self.folder / LOCK_NAME):
            # a lock file unlinked by its releasing holder is not the lock any more
            os.close(fd)
            msg = (
                f"{self.folder}: another coverage run is writing into this folder "
                f"right now; wait for it to finish or choose another {self.option}"
            )
            raise OutputError(msg)
        self._fd = fd

    def release(self) -> None:
        """Release the lock, removing the lock file and the folders it created.

        The lock file is unlinked while still locked, so a run that opened it
        meanwhile sees it is no longer linked and refuses rather than sharing.
        """
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.folder / LOCK_NAME)
            os.close(self._fd)
            self._fd = None
        self._remove_created()

    def _remove_created(self) -> None:
        for folder in self._created:
            try:
                folder.rmdir()
            except OSError:
                break
        self._created = []

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _still_linked(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True
