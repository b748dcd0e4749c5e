"""The ``docker`` backend: the containers of one Docker (or Podman) engine.

Listing costs exactly one API request (``GET /containers/json?all=1``, with
``label=sesstui.session`` as a server-side filter in the default ``labeled``
scope; ``scope: all`` shows every container); :attr:`DockerBackend.requests`
counts every request the backend sends.  ``match_labels`` narrows the backend
further to the containers carrying every one of those labels with exactly
those values: one more ``label=key=value`` term of the same server-side
filter, and every action (get, stop, logs, attach, delete, prune) refuses a
container outside it, naming it (the demo shows only its own containers this
way); containers the backend starts get those labels too.  Connecting costs
one more (``GET /version``, to agree on the API version), once per backend
and again only after the engine was unreachable.  A session's id is its container
name; the container id is in ``facts.container_id``.

The engine is the one the config names (see :mod:`core.docker.endpoint`); an
unreachable daemon, a socket without permission or an unusable
``DOCKER_HOST`` makes the backend UNAVAILABLE with the reason; it never falls
back to another engine.  Every request has the backend's ``timeout``.

Starting a spec (:meth:`DockerBackend.start`) checks the spec first (name,
image reference, volumes, ports, env, working_dir: see
:mod:`core.docker.specs`), then that the image is on the engine: sesstui
never pulls.  A stopped container of the same name that sesstui started is
started again, as it was created (delete it to apply a changed spec).  New
containers carry the labels ``sesstui.session=<name>`` and
``sesstui.managed=true``.

Logs are the container's stdout and stderr; following is one streaming
request (the last N lines, then what comes), read by a thread, ended at once
by ``close()`` from any thread, and closed with a notice when the container
exits or is removed.
"""

from __future__ import annotations

from core.docker.actions import ActionsMixin, docker_stop_description
from core.docker.base import DockerBase
from core.docker.inspect import InspectMixin
from core.docker.listing import ListingMixin
from core.docker.logs import CONTAINER_SOURCE, LogsMixin
from core.docker.prune import PruneMixin
from core.docker.stats import StatsMixin
from core.model import Capability

__all__ = ["CONTAINER_SOURCE", "DockerBackend", "DockerBase", "docker_stop_description"]


class DockerBackend(ListingMixin, ActionsMixin, LogsMixin, PruneMixin, InspectMixin, StatsMixin):
    """The containers of one engine.

    ``specs`` maps session names to their specs, for what only a spec knows
    (``attach: attach``).  ``environ`` replaces ``os.environ`` when resolving
    the endpoint (``DOCKER_HOST`` ...).

    One class per concern (see the module docstring); their shared state
    and the connection are :class:`core.docker.base.DockerBase`.
    """

    kind = "docker"
    capabilities = (
        Capability.LIST
        | Capability.LOGS
        | Capability.START
        | Capability.STOP
        | Capability.ATTACH
        | Capability.DELETE
        | Capability.PRUNE
    )
