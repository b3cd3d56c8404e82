"""The worlds: the catalog of built-in environments, wrappers and vectorised env factories."""

import envs.games  # noqa: F401  (registers the playground/ games with Gymnasium)
from envs.catalog import CATALOG, CatalogEntry, resolve_env_id
from envs.masking import register_masked
from envs.minatar import register_minatar
from envs.pixels import register_pixel_variants

register_masked()  # playground/<Name>NoVel ids: velocities hidden
register_minatar()  # playground/<Game>-MinAtar-v0 ids (minatar itself is imported when one is made)
register_pixel_variants()  # playground/CartPolePixels-v1: CartPole seen through its frames

__all__ = ["CATALOG", "CatalogEntry", "resolve_env_id"]
