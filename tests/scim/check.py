"""Runs scim2-tester's checks against a running autolock's /scim/v2 as its provisioner.

    python tests/scim/check.py BASE_URL TOKEN

Prints each check with its status; exits 1 when any check failed or erred (a check the tester
skips, for a feature autolock says it does not have, is printed and not a failure).
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server
from scim2_tester.utils import Status


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=f"{base}/scim/v2", headers={"Authorization": f"Bearer {token}"})
    client = SyncSCIMClient(http)
    results = check_server(client)
    failed = skipped = 0
    for r in results:
        ok = r.status in (Status.SUCCESS, Status.SKIPPED)
        failed += not ok
        skipped += r.status == Status.SKIPPED
        where = f" [{r.resource_type}]" if getattr(r, "resource_type", None) else ""
        line = f"{r.status.name:<8} {r.title}{where}"
        if r.status != Status.SUCCESS:
            line += f": {r.reason}"
        print(line)
    print(f"{len(results) - failed - skipped} of {len(results)} checks succeeded, {skipped} skipped, {failed} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
