"""Files encore reads, checked before they are opened: a FIFO or a device is refused
rather than waited on (open() on a FIFO blocks until a writer comes, and Ctrl-C cannot
end that wait), and a path that cannot be a file says why in words, not in an errno."""

from __future__ import annotations

import errno
import os
import stat

MISSING = "no such file; check the path"


def input_problem(path, missing: str = MISSING, folder: str = "is a folder, not a file") -> str | None:
    """What keeps `path` from being read as a file, in words (None: nothing). Only stat
    is called, never open: it does not block on a FIFO."""
    try:
        mode = os.stat(path).st_mode  # follows links
    except FileNotFoundError:
        return "a link to a file that does not exist" if os.path.islink(path) else missing
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "a symbolic link loop (the link leads back to itself); give the file it should name"
        if err.errno == errno.ENAMETOOLONG:
            return "the name is too long for the file system"
        if err.errno == errno.EACCES:
            return "cannot be reached (permission denied)"
        if err.errno == errno.ENOTDIR:
            return missing
        return f"cannot be read ({err.strerror or err})"
    except ValueError:  # a NUL byte in the name
        return "not a valid file name (it holds a NUL character)"
    if stat.S_ISDIR(mode):
        return folder
    if not stat.S_ISREG(mode):
        return f"is {_kind(mode)}, not a regular file; encore reads files only (give the file itself)"
    return None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a plain file"

