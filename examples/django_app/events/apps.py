"""The producer is made when Django has loaded the apps, once per process.

Making and entering a SyncProducer loads nothing native: the Go engine
starts on the first put, in whichever process serves the request. So this
works unchanged under runserver (whose autoreloader parent never serves),
gunicorn --preload and other pre-forking servers. The process flushes the
producer when it exits (SyncProducer's exit_timeout, 5 s by default);
Django has no shutdown signal to close it earlier.
"""

from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from gokpl import Config, SyncProducer


class EventsConfig(AppConfig):
    name = "events"
    producer: SyncProducer | None = None

    def ready(self) -> None:
        if EventsConfig.producer is None:
            EventsConfig.producer = SyncProducer(Config.from_env(**settings.GOKPL_CONFIG))
            EventsConfig.producer.__enter__()
