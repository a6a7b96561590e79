"""Settings of a minimal Django project that publishes to Kinesis with gokpl.

No database, no templates: one app (events) with one view. The producer's
options are the GOKPL_<OPTION> environment variables (GOKPL_ENDPOINT_URL,
GOKPL_REGION, ...) with GOKPL_CONFIG on top; the AWS SDK also reads the
usual environment (AWS_REGION, credentials, AWS_ENDPOINT_URL_KINESIS).
"""

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = ["events.apps.EventsConfig"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "kplsite.urls"
WSGI_APPLICATION = "kplsite.wsgi.application"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

#: Options of gokpl.Config for the project's producer, over its GOKPL_<OPTION> environment variables.
GOKPL_CONFIG = {
    "record_max_buffered_time_ms": 50,  # a request waits for its record: keep the buffering short
}
#: The stream the view publishes to.
GOKPL_STREAM = os.environ.get("GOKPL_STREAM", "events")
