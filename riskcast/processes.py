"""Who holds a claim: ``host:pid`` owners and whether they still exist.

Job locks (:mod:`jobs.lease`) and alert deliveries (:mod:`alerts.outbox`) record the
process holding them, so a claim left behind by a process that died (``kill -9``, OOM) is
taken over as soon as a process on the same host sees it, instead of after a timeout.
"""

from __future__ import annotations

import os
import socket


def process_owner() -> str:
    """``host:pid`` of this process — who holds a claim, for people reading the tables."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str) -> bool:
    """False only when ``host:pid`` names a process on this host that no longer exists.

    An owner on another host cannot be checked from here: it counts as alive, and its
    claim is judged by its heartbeat or deadline instead.
    """
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True
