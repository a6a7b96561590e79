#!/usr/bin/env python
"""Django's command-line utility for the gokpl example project.

A minimal project (no database, no templates) whose one view publishes the
request body to Kinesis through a producer made when the app is ready
(events/apps.py). Run it from this folder:

    cd examples/django_app
    GOKPL_STREAM=events python manage.py runserver 127.0.0.1:8000
    curl -X POST -H 'X-User: user-42' --data '{"clicked": "buy"}' http://127.0.0.1:8000/events/

or under gunicorn: ``gunicorn --workers 2 kplsite.wsgi``. Settings come from
the environment: GOKPL_STREAM (default "events"), AWS_REGION,
GOKPL_ENDPOINT_URL (unset for Kinesis itself; set for an emulator), any
other option as GOKPL_<OPTION>, and the AWS SDK's usual credentials.
"""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kplsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
