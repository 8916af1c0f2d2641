"""The scheduler's margins: how far ahead of "now" each kind of new music is placed,
and how late is too late. Each is a measured trade between a knob's feel and a note
that leaves late."""

from __future__ import annotations

DEFAULT_LOOKAHEAD = 0.1
START_MARGIN = 0.02  # the first event is due this long after start (or resume)
RESTART_MARGIN = 0.006  # music regenerated after a knob turn starts this far after "now"
RESEED_MARGIN = 0.03  # after a reseed or panic: time to prime the model first
COMMIT_MARGIN = 0.002  # an event due this close to "now" may already be on its way out
WATCHDOG_SLACK = 0.05  # a note is ended this long past its max length
# A note-on this late is dropped, not sent: after the machine (or the process) stood
# still, a burst of stale notes would come out as blips, not music.
STALE_NOTE_ON = 0.05
