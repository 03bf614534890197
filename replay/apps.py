from django.apps import AppConfig


class ReplayConfig(AppConfig):
    """The incident replay: installed only for its command, ``manage.py replay_incidents``.
    It has no models; nothing in the project imports it."""

    name = "replay"
