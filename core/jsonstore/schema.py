"""The ``json`` kind: its configuration keys and how its backend is built.

``backends: [{kind: json, base: ~/agent-sessions}]`` -- JSON-file session
records (calute convention): ``{base}/[{workspace}/]{id}.json``.  Adding a key:
declare it here with ``key()``, use it in :mod:`core.jsonstore.backend`,
document it in the README and ``config.example.yml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from core.config.fields import key
from core.config.kinds import BuildContext, Kind
from core.config.records import KIND_KEY, BackendConfig

if TYPE_CHECKING:
    from core.backend import Backend


class JsonBackendConfig(BackendConfig, frozen=True, kw_only=True):
    """JSON-file session records (calute convention): {base}/[{workspace}/]{id}.json."""

    kind: Annotated[str, KIND_KEY] = "json"
    base: Annotated[
        Path,
        key("the folder of the JSON session files", "~/agent-sessions", required=True,
            safe_base=True),
    ] = Path()  # fmt: skip
    create_base: Annotated[bool, key("create base when it does not exist")] = False
    prune_after_days: Annotated[
        float, key("prune removes ended sessions older than this", "30", ge=0)
    ] = 30.0


def build(config: BackendConfig, context: BuildContext) -> Backend:
    from core.jsonstore.backend import JsonBackend

    return JsonBackend(config)


KIND = Kind("json", JsonBackendConfig, build)
