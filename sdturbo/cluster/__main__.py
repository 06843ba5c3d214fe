"""`python -m sdturbo.cluster`: deploy the GPU replicas on Ray Serve and serve the studio in front (README,
"Many GPUs / many hosts")."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from sdturbo.cli.args import Parser, run
from sdturbo.cluster import ClusterSettings, RemoteEngine, deployment, ray, require_ray, serve
from sdturbo.config import Settings
from sdturbo.errors import InvalidParameterError, ModelLoadError, first_line

log = logging.getLogger("sdturbo.cluster")


def build_parser() -> Parser:
    p = Parser(prog="python -m sdturbo.cluster", description="SD-Turbo studio on Ray Serve: GPU replicas + the web app")
    p.add_argument("--address", help="Ray cluster to use, e.g. auto (default $SDTURBO_RAY_ADDRESS, or start one here)")
    p.add_argument("--replicas", type=int, help="fixed number of replicas (default $SDTURBO_RAY_REPLICAS or 1)")
    p.add_argument("--min-replicas", type=int, help="autoscaling: fewest replicas (default 1)")
    p.add_argument("--max-replicas", type=int, help="autoscaling: most replicas; 0 = a fixed count (default 0)")
    p.add_argument("--target-ongoing", type=float, help="autoscaling: requests per replica to aim at (default 8)")
    p.add_argument("--gpus-per-replica", help="GPUs each replica holds: auto, 1, 0.5, 0 (default auto)")
    p.add_argument("--cpus-per-replica", type=float, help="CPUs each replica holds (default 1)")
    p.add_argument("--model", help="hub id, folder (on every node), or 'tiny' (default $SDTURBO_MODEL)")
    p.add_argument("--style", help="default style preset (default $SDTURBO_STYLE or anime)")
    p.add_argument("--max-batch", type=int, help="most images per replica call (default $SDTURBO_MAX_BATCH or 8)")
    p.add_argument("--max-wait-ms", type=float, help="how long a replica waits to fill a batch (default 5)")
    p.add_argument("--device", help="device inside each replica (default auto: its GPU, else CPU)")
    p.add_argument("--host", help="where the web front listens (default $SDTURBO_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port of the web front (default $SDTURBO_PORT or 5000)")
    p.add_argument("--library", help="image library folder of the front, or off")
    p.add_argument("--app-name", help="Serve application name (default $SDTURBO_RAY_APP or sdturbo)")
    p.add_argument("--no-front", action="store_true", help="deploy the replicas and exit (needs --address)")
    return p


def main(argv: list[str] | None = None) -> int:
    return run(
        build_parser(),
        _run,
        argv,
        {"max_batch_size": "--max-batch", "ray_app": "--app-name", "ray_address": "--address"},
    )


def _run(args: argparse.Namespace) -> int:
    cluster = ClusterSettings.from_env(
        replicas=args.replicas,
        min_replicas=args.min_replicas,
        max_replicas=args.max_replicas,
        target_ongoing=args.target_ongoing,
        gpus_per_replica=args.gpus_per_replica,
        cpus_per_replica=args.cpus_per_replica,
    )
    settings = Settings.from_env(
        model=args.model,
        style=args.style,
        max_batch_size=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        device=args.device,
        host=args.host,
        port=args.port,
        library=args.library,
        ray_app=args.app_name,
        ray_address=args.address,
    )
    if args.no_front and not settings.ray_address:
        raise InvalidParameterError(
            "no_front", "needs --address of a running Ray cluster (ray start --head): a local Ray ends with it"
        )
    require_ray()
    ray.init(address=settings.ray_address or None, log_to_driver=False)
    gpus = ray.cluster_resources().get("GPU", 0.0)
    scale = cluster.scaling()
    log.info(
        "deploying %s of %s (%g GPU, %g CPU each) as Serve application %r",
        scale.get("num_replicas", scale.get("autoscaling_config")),
        settings.model,
        cluster.gpus(gpus),
        cluster.cpus_per_replica,
        settings.ray_app,
    )
    try:
        serve.run(deployment(settings, cluster, gpus), name=settings.ray_app, route_prefix=None)
    except RuntimeError as err:
        status = RemoteEngine(settings).read_status()
        raise ModelLoadError(f"the replicas did not start: {status.get('message') or first_line(err)}") from None
    if args.no_front:
        print(f"deployed {settings.ray_app!r}; start a front with SDTURBO_RAY_ADDRESS=auto on a node of this cluster")
        return 0
    from sdturbo.web import create_app
    from sdturbo.web.serving import serve as serve_web

    front = dataclasses.replace(settings, ray_address=settings.ray_address or "auto")
    try:
        return serve_web(create_app(front), front)
    finally:
        if not settings.ray_address:  # the Ray this command started ends with it
            serve.shutdown()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(main())
