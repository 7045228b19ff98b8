"""The analysts' web page: a read-only Starlette application over the same library as the CLI.

``app.create_app`` builds it; each page lives in ``pages/`` (one module per area, each exporting
``routes``); ``render`` holds the Jinja2 environment (autoescaped: crawled text is untrusted),
``params`` the query-parameter validation (a bad value is a 400 page that says what to fix),
``security`` the headers and the access token.
"""
