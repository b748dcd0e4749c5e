"""The ``docker`` backend: the containers of one Docker (or Podman) engine.

One backend per configured engine.  :mod:`core.docker.backend` holds the
backend; the helpers are one module per concept:

* :mod:`core.docker.endpoint` -- which engine: ``base_url``, a CLI context or
  the environment; the docker-py client for it and the matching CLI flags;
* :mod:`core.docker.specs` -- session specs checked and turned into
  container-create arguments before the engine is asked anything;
* :mod:`core.docker.listing` -- one row of ``GET /containers/json`` as a
  :class:`core.model.Session`;
* :mod:`core.docker.stream` -- container logs as a
  :class:`core.backend.LineStream`.

docker-py loads lazily, when a backend first talks to its engine: ``import
core`` never imports it.
"""

from __future__ import annotations
