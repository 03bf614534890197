from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo history: installed only for its command, ``manage.py seed_demo``. It has no
    models."""

    name = "demo"
