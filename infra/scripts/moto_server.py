"""Starts moto server on 127.0.0.1:PORT serving one request at a time.

moto's TransactWriteItems is not atomic under concurrent requests: it applies actions one by
one and rolls a cancelled transaction back by restoring a copy of the whole table taken at its
start, which can erase another transaction that finished in between. Real DynamoDB does not do
this. Serving requests one at a time keeps moto's transactions atomic; our tests still race
at the level that matters (between a load and its commit).
"""

import sys

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
