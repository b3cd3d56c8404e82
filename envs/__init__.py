"""The worlds: the catalog of built-in environments, wrappers and vectorised env factories."""

import envs.games  # noqa: F401  (registers the playground/ games with Gymnasium)
from envs.catalog import CATALOG, CatalogEntry, resolve_env_id
from envs.masking import register_masked

register_masked()  # playground/<Name>NoVel ids: velocities hidden

__all__ = ["CATALOG", "CatalogEntry", "resolve_env_id"]
