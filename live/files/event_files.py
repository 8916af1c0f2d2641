"""Event files: the performance-388 indices `encore decode` reads, as a JSON list, the
object `encode --json` prints (with the time it speaks), or plain numbers; from a file
or standard input, bounded in size, and every way one can be wrong one EventFileError."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from live.core import vocab
from live.core.errors import EventFileError
from live.files.input_paths import input_problem

MAX_EVENT_FILE_BYTES = 64 * 10**6  # 10 million events written out: days of music


def read_event_file(path: Path) -> tuple[list[int], str | None]:
    """(events, the time they say they are in or None): a JSON list, a JSON object with
    "events" (what encode --json prints, with its "time"), or plain whitespace- or
    comma-separated integers; `-` reads them from standard input (`encore encode
    song.mid | encore decode - -o out.mid`)."""
    if str(path) == "-":
        text = sys.stdin.read(MAX_EVENT_FILE_BYTES + 1)
    else:
        problem = input_problem(path)
        if problem:
            raise EventFileError(path, problem)
        if path.stat().st_size > MAX_EVENT_FILE_BYTES:
            raise EventFileError(path, f"larger than {MAX_EVENT_FILE_BYTES // 10**6} MB; encore reads event "
                                       "files up to that size")
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as err:
            raise EventFileError(path, f"cannot be read ({err})") from None
    if len(text) > MAX_EVENT_FILE_BYTES:
        raise EventFileError(path, f"more than {MAX_EVENT_FILE_BYTES // 10**6} MB of events; encore reads "
                                   "event files up to that size")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = text.replace(",", " ").split()
    except ValueError:  # an integer of thousands of digits (Python's int limit)
        raise EventFileError(path, f"holds a number too long to be an event; events are integers "
                                   f"0..{vocab.VOCAB_SIZE - 1}") from None
    except RecursionError:
        raise EventFileError(path, 'JSON nested too deeply; expected a list of event indices '
                                   'or {"events": [...]}') from None
    said = None
    if isinstance(data, dict):
        said = data.get("time") if data.get("time") in ("seconds", "beats") else None
        data = data.get("events")
    if not isinstance(data, list):
        raise EventFileError(path, 'expected a JSON list of event indices or {"events": [...]}')
    events = []
    for position, item in enumerate(data):
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < vocab.VOCAB_SIZE:
            events.append(item)
            continue
        if isinstance(item, str) and item.isascii() and item.isdigit() and len(item) < 5 \
                and int(item) < vocab.VOCAB_SIZE:
            events.append(int(item))
            continue
        shown = repr(item)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise EventFileError(
            path, f"event {position} is {shown}; events are integers 0..{vocab.VOCAB_SIZE - 1}"
        )
    return events, said
