"""gunicorn settings: `gunicorn -c gunicorn.conf.py "app:create_app()"`.

One worker process per GPU: each process holds its own copy of the weights and its own CUDA
context, and inside it one batch worker thread owns the pipeline. More processes on one GPU
would only duplicate the weights and fight over the device; concurrency comes from threads
(HTTP) feeding the batcher, which groups requests into one GPU call. No preload_app: CUDA must
be initialised after the fork, inside the worker. Address, port and threads come from the same
Settings.from_env() the app reads (SDTURBO_HOST, SDTURBO_PORT, SDTURBO_HTTP_THREADS), checked there.
"""

from sdturbo.config import Settings

_settings = Settings.from_env()

bind = f"{_settings.host}:{_settings.port}"
workers = 1
worker_class = "gthread"
threads = _settings.http_threads
timeout = 180  # the model loads in a background thread, so the worker answers /healthz meanwhile
graceful_timeout = 30
accesslog = "-"
loglevel = "info"
