"""The config the running ``riskcast`` command loaded once, at its start.

The command's root callback (:mod:`cli`) reads and validates the whole domain config and
hands it to :func:`remember`; a layer's command asks for it with :func:`loaded_config`
instead of reading the file again. Outside a ``riskcast`` command there is no such config,
and asking is a bug.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

_loaded: ContextVar[Any] = ContextVar("riskcast_loaded_config", default=None)


def remember(config: Any) -> None:
    """Keep the config the command loaded (called once, by the root callback)."""
    _loaded.set(config)


def loaded_config() -> Any:
    """The :class:`jobs.config.RiskcastConfig` of the running command.

    Typed ``Any`` on purpose: the type lives above the layers that ask (``jobs``), and a
    lower layer must not import it.

    Raises:
        RuntimeError: called outside a ``riskcast`` command.
    """
    config = _loaded.get()
    if config is None:
        raise RuntimeError("no riskcast command is running: there is no loaded config")
    return config
