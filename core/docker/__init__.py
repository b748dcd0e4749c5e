"""The ``docker`` backend: the containers of one Docker (or Podman) engine.

One backend per configured engine.  :mod:`core.docker.backend` holds the
backend class, put together from one class per concern:

* :mod:`core.docker.base` -- state, connection (counted requests), engine
  errors as :mod:`core.errors` types, health, scope and ``match_labels``;
* :mod:`core.docker.listing` -- ``list_sessions`` / ``get``, and one row of
  the list response as a session (metadata for people, typed facts);
* :mod:`core.docker.actions` -- start, resume, restart, stop, attach;
* :mod:`core.docker.logs` -- log sources and tails;
* :mod:`core.docker.prune` -- delete and prune plans, and removing them;
* :mod:`core.docker.inspect` -- the inspect, in sections;
* :mod:`core.docker.stats` -- CPU and memory from the engine's stats.

and the helpers, one module per concept:

* :mod:`core.docker.endpoint` -- which engine: ``base_url``, a CLI context or
  the environment; the docker-py client for it and the matching CLI flags;
* :mod:`core.docker.specs` -- session specs checked and turned into
  container-create arguments before the engine is asked anything;
* :mod:`core.docker.stream` -- container logs as a
  :class:`core.backend.LineStream`.

docker-py loads lazily, when a backend first talks to its engine: ``import
core`` never imports it.
"""

from __future__ import annotations
