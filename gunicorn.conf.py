"""gunicorn settings: `gunicorn -c gunicorn.conf.py "app:create_app()"`.

One worker process per GPU: each process holds its own copy of the weights and its own CUDA
context, and inside it one batch worker thread owns the pipeline. More processes on one GPU
would only duplicate the weights and fight over the device; concurrency comes from threads
(HTTP) feeding the batcher, which groups requests into one GPU call. The worker is gunicorn's
gthread with a two-thread lane for complete `GET /healthz` requests and its pool started up front
(sdturbo/web/gunicorn_worker.py): plain gthread made a health check wait behind every queued
connection, and none was answered while slow-header clients held all threads. No preload_app: CUDA must
be initialised after the fork, inside the worker. Address, port and threads come from the same
Settings.from_env() the app reads (SDTURBO_HOST, SDTURBO_PORT, SDTURBO_HTTP_THREADS), checked there.
"""

from sdturbo.config import Settings

_settings = Settings.from_env()

bind = f"{_settings.host}:{_settings.port}"
workers = 1
worker_class = "sdturbo.web.gunicorn_worker.HealthLaneWorker"  # gthread + a lane for /healthz
threads = _settings.threads
timeout = 180  # the model loads in a background thread, so the worker answers /healthz meanwhile
graceful_timeout = 30
accesslog = "-"
loglevel = "info"


def post_worker_init(worker):
    """On SIGTERM, before gunicorn's own graceful stop: requests still queued are answered 503 at once
    (not run, not left to time out), so the worker exits as soon as the running batch is done."""
    import signal

    studio = worker.wsgi.extensions["sdturbo"]
    graceful = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        studio.shutdown(timeout=0)  # the batch running finishes on its thread; the worker stops after it
        graceful(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
