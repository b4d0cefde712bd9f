"""riskcast's HTTP API, in the FastAPI full-stack template's shape.

``api/routes/<concern>.py`` holds the routes of one concern, ``api/deps.py`` what routes
depend on (the store, the loaded config, the API key), ``api/models.py`` the response
models, ``api/errors.py`` how domain errors become HTTP answers. :mod:`service` builds the
app from these and starts the scheduler.
"""
