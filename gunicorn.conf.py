"""gunicorn settings: `gunicorn -c gunicorn.conf.py "app:create_app()"`.

One worker process per GPU: each process holds its own copy of the weights and its own CUDA
context, and inside it one batch worker thread owns the pipeline. More processes on one GPU
would only duplicate the weights and fight over the device; concurrency comes from threads
(HTTP) feeding the batcher, which groups requests into one GPU call. No preload_app: CUDA must
be initialised after the fork, inside the worker. Settings come from SDTURBO_* variables.
"""

import os

bind = f"{os.environ.get('SDTURBO_HOST', '127.0.0.1')}:{os.environ.get('SDTURBO_PORT', '5000')}"
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("SDTURBO_HTTP_THREADS", "32"))  # waiting requests are cheap; the queue bounds work
timeout = 180  # the model loads in a background thread, so the worker answers /healthz meanwhile
graceful_timeout = 30
accesslog = "-"
loglevel = "info"
