"""Starting Ray: embedded on this machine with its cores, or joining a running cluster by its address."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from core.errors import PlaygroundError

CONNECT_TIMEOUT_S = 5.0
# Sweeps move configs and metrics through Ray, never models or data: a small object store leaves the memory
# to training.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2


def parse_address(address: str) -> tuple[str, int] | None:
    """(host, port) of `host:port` or `ray://host:port`; None for `auto` (Ray finds the local cluster).

    Raises:
        PlaygroundError: The address has no port or a malformed one.
    """
    if address == "auto":
        return None
    parts = urlsplit(address if "://" in address else f"//{address}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or (parts.scheme not in ("", "ray")):
        raise PlaygroundError(f"--address {address!r}: write host:port (the head's GCS port, e.g. 10.0.0.5:6379), "
                              "ray://host:10001 for Ray Client, or auto.")
    return parts.hostname, port


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail in seconds, with the fix, when nothing listens at a cluster address (Ray itself waits much longer).

    Raises:
        PlaygroundError: Nothing accepted a connection within `timeout` seconds.
    """
    host_port = parse_address(address)
    if host_port is None:
        return
    try:
        socket.create_connection(host_port, timeout=timeout).close()
    except OSError as error:
        reason = "timed out" if isinstance(error, TimeoutError) else (error.strerror or str(error))
        raise PlaygroundError(
            f"--address {address}: no Ray cluster answers there ({reason}). Start one with "
            f"`ray start --head --port={host_port[1]}` on that machine, check the host, port and firewall, "
            "or drop --address to run on this machine."
        ) from None


def start_ray(address: str | None, num_cpus: int | None = None) -> dict[str, float]:
    """Connect to the cluster at `address`, or start Ray on this machine; returns the cluster's resources.

    Args:
        address: `host:port`, `ray://host:port` or `auto`; None starts Ray here.
        num_cpus: CPUs for a local Ray (default: all of this machine's cores); ignored with an address.

    Raises:
        PlaygroundError: The cluster cannot be reached or refuses the connection.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        return ray.cluster_resources()
    if address is None:
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
                 object_store_memory=LOCAL_OBJECT_STORE_BYTES, configure_logging=False, log_to_driver=False)
        return ray.cluster_resources()
    check_reachable(address)
    try:
        ray.init(address=address, configure_logging=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise PlaygroundError(f"--address {address}: Ray could not join the cluster ({_first_line(error)}). "
                              f"{_fix_for(error)}") from None
    return ray.cluster_resources()


def stop_ray() -> None:
    """Disconnect from (or shut down) Ray, when it was started."""
    import ray

    if ray.is_initialized():
        ray.shutdown()


def _first_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200]


def _fix_for(error: BaseException) -> str:
    """What to do about a refused connection: the token for an authenticating cluster, else versions."""
    chain = f"{error!r} {error.__cause__!r}"
    if "Auth" in chain:
        return ("The cluster wants its token: set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN (or put the token in "
                "~/.ray/auth_token) as on the cluster's nodes.")
    return "Check that the cluster runs the same Ray and Python versions as this machine."
