"""gunicorn settings for the web process: ``gunicorn -c deploy/gunicorn.conf.py``.

Every value can be changed from the environment (defaults in brackets); gunicorn's own
``GUNICORN_CMD_ARGS`` overrides this file too. The worker (``manage.py qcluster``) is a
separate process and is not started by gunicorn.
"""

import multiprocessing
import os

wsgi_app = "config.wsgi:application"

# GUNICORN_BIND [0.0.0.0:8000]: where to listen; put a TLS-terminating proxy in front.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# WEB_CONCURRENCY [2 x CPUs + 1]: sync worker processes. Each keeps one persistent database
# connection (CONN_MAX_AGE), so count them against PostgreSQL's max_connections.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# GUNICORN_THREADS [1]: threads per worker; more than one turns workers into gthread ones.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# GUNICORN_TIMEOUT [30]: a request running longer than this is killed and its worker
# replaced. The API does no slow work in the request (analysis and execution run in the
# worker), so 30 s is generous.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# A sync worker reads one request at a time, body included: a client trickling its body
# would hold the worker until `timeout`. The application bounds every body to
# REQUEST_BODY_TIMEOUT [10] seconds in all (config.middleware.BodyDeadline: 408, worker
# free again). In production also put a buffering proxy in front (nginx: the default
# `proxy_request_buffering on`, `client_body_timeout 10s`, `client_header_timeout 10s`):
# it hands gunicorn only complete requests, slow headers included (docs/security.md).
graceful_timeout = 30
keepalive = 5
# Replace each worker after about 1000 requests (jittered so they do not all restart at
# once): bounds the damage of any slow memory growth.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = max_requests // 10
# Each worker imports the app itself (no preload): no database connection or socket is
# ever shared across a fork.
preload_app = False
# FORWARDED_ALLOW_IPS [127.0.0.1]: proxies trusted to set X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs on stdout/stderr, one line per request, with the worker's pid.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms pid=%(p)s'

# LOG_FORMAT=json: gunicorn's own lines (start-up, worker, access) as JSON objects too, so
# a log pipeline reads one format from the web process (the app's lines already are).
if os.environ.get("LOG_FORMAT") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "config.logs.JsonFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        # Django's LOGGING takes over the root logger once the app is loaded.
        "root": {"handlers": ["stdout"], "level": "INFO"},
        "loggers": {
            "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        },
    }


def child_exit(server, worker):
    # With PROMETHEUS_MULTIPROC_DIR set, django-prometheus' per-process metrics are
    # aggregated over every worker of this machine; forget the files of a dead worker.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
