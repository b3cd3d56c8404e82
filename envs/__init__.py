"""The worlds: the catalog of built-in environments, wrappers and vectorised env factories."""

from envs.catalog import CATALOG, CatalogEntry, resolve_env_id

__all__ = ["CATALOG", "CatalogEntry", "resolve_env_id"]
