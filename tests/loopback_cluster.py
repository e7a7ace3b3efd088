"""A two-node Ray cluster on 127.0.0.1 for tests/test_sweep_cluster.py, made with Ray's own multi-node test utility
(ray.cluster_utils.Cluster): a head with the dashboard (which takes `ray job submit`) and one worker node, one CPU each.

Prints one JSON line with the addresses, then waits: SIGUSR1 removes the worker node without grace (every one of its
processes is killed, as when its machine dies); SIGTERM shuts the cluster down.
Run: python tests/loopback_cluster.py DASHBOARD_PORT TEMP_DIR
"""

import json
import os
import signal
import sys
import threading

# Ray swaps 127.0.0.1 for the machine's outward address unless it believes multi-node clusters are unsupported; the
# `ray start` command refuses a second node then, Ray's test utility does not. Read when ray is imported.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

from ray.cluster_utils import Cluster  # noqa: E402


def main() -> None:
    dashboard_port, temp_dir = int(sys.argv[1]), sys.argv[2]
    cluster = Cluster(initialize_head=True, head_node_args=dict(
        num_cpus=1, node_ip_address="127.0.0.1", include_dashboard=True, dashboard_host="127.0.0.1",
        dashboard_port=dashboard_port, temp_dir=temp_dir))  # fmt: skip
    worker = cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: cluster.remove_node(worker, allow_graceful=False))
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(json.dumps({"gcs": cluster.address, "dashboard": f"http://127.0.0.1:{dashboard_port}",
                      "worker_node_id": worker.node_id}), flush=True)  # fmt: skip
    while not stop.wait(1):
        pass
    cluster.shutdown()


if __name__ == "__main__":
    main()
