"""moto's server, as `moto_server` starts it, but taking DynamoDB's requests one at a time.

moto checks a transaction's conditions and then writes, with no lock between: two conditional
transactions racing on one item could both succeed, where DynamoDB lets one fail. autolock's
store relies on DynamoDB's isolation (one approver wins, one open request per right), and its
contract suite races such writes on purpose, so the emulator must isolate them as DynamoDB
does. The other services (SES, EventBridge, SQS, SSM) are served concurrently, as moto serves
them.

    python3 scripts/moto-server.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

app = DomainDispatcherApplication(create_backend_app)
dynamodb = threading.Lock()


def serve(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
        with dynamodb:
            return list(app(environ, start_response))
    return app(environ, start_response)


if __name__ == "__main__":
    run_simple(sys.argv[1], int(sys.argv[2]), serve, threaded=True)
