"""moto's server, as `moto_server` starts it, but taking DynamoDB's requests one at a time.

moto checks a transaction's conditions and then writes, with no lock between: two conditional
transactions racing on one item could both succeed, where DynamoDB lets one fail. autolock's
store relies on DynamoDB's isolation (one approver wins, one open request per right), and its
contract suite races such writes on purpose, so the emulator must isolate them as DynamoDB
does. The other services (SES, EventBridge, SQS, SSM) are served concurrently, as moto serves
them.

`GET /moto-api/ses.json` answers what `/moto-api/data.json` holds of SES alone (the emails
sent): the whole dump grows with every DynamoDB item the tests ever wrote, and reading it took
minutes by the end of a run.

    python3 scripts/moto-server.py HOST PORT
"""

import json
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

app = DomainDispatcherApplication(create_backend_app)
dynamodb = threading.Lock()


def jsonable(value):
    try:
        json.dumps(value)
    except (TypeError, AttributeError, ValueError):
        return False
    return True


def ses_state(start_response):
    from moto.core.model_instances import model_data

    state = {}
    for name, model in sorted(model_data.get("ses", {}).items()):
        state[name] = [
            {
                attr: getattr(instance, attr)
                for attr in dir(instance)
                if not attr.startswith("_") and jsonable(getattr(instance, attr, None))
            }
            for instance in model.instances_tracked
        ]
    body = json.dumps({"ses": state}).encode()
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def serve(environ, start_response):
    if environ.get("PATH_INFO") == "/moto-api/ses.json":
        return ses_state(start_response)
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
        with dynamodb:
            return list(app(environ, start_response))
    return app(environ, start_response)


if __name__ == "__main__":
    run_simple(sys.argv[1], int(sys.argv[2]), serve, threaded=True)
