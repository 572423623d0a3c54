#!/usr/bin/env python3
"""Topic churn through the real binary over HTTP: does the sidecar's own state stay bounded?

    bench/churn_soak.py SIDECAR [--cycles 5] [--topics 100000] [--retention 2s]

Each cycle creates --topics unique topics (one timing message each) and deletes them, 1,000
topics a request, then waits until every tombstone has expired. It prints per cycle: resident
memory after the cycle's tombstones are gone, the state directory's size (--state.dir is on, with
--state.compact-bytes 16MiB), the sweep time that forgot them (from the sidecar's debug log), and
the live topic's counts, which must not change. Memory must plateau: the goal is the fourth
cycle's resident memory within 10% of the first's.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request


def sample(web, series):
    with urllib.request.urlopen(web + "/metrics") as reply:
        for line in reply.read().decode().splitlines():
            name, _, value = line.rpartition(" ")
            if name == series:
                return float(value)
    return None


def post(webhook, events):
    request = urllib.request.Request(webhook + "/v1/events", json.dumps(events).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as reply:
        assert reply.status == 200, reply.read()


def resident_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def directory_bytes(path):
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(path) for name in names)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sidecar")
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--topics", type=int, default=100_000)
    parser.add_argument("--retention", default="2s")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "sidecar.log")
        state = os.path.join(tmp, "state")
        with open(log_path, "w") as log:
            sidecar = subprocess.Popen(
                [args.sidecar, "--web.listen-address", "127.0.0.1:0",
                 "--webhook.listen-address", "127.0.0.1:0", "--tombstone.retention", args.retention,
                 "--reconcile.interval", "500ms", "--log.level", "debug", "--state.dir", state,
                 "--state.compact-bytes", "16MiB"], stderr=log)
        try:
            web = webhook = None
            for _ in range(200):
                text = open(log_path).read()
                found = re.search(r'msg="timing-sidecar started".* web=(\S+) webhook=(\S+)', text)
                if found:
                    web, webhook = found.group(1), found.group(2)
                    break
                time.sleep(0.05)
            if not web:
                sys.exit("the sidecar did not start:\n" + open(log_path).read())
            now_ms = int(time.time() * 1000)
            post(webhook, [{"type": "timer.enqueued", "topic": "live", "id": f"L{i}",
                            "deliverAtMs": now_ms + 3_600_000} for i in range(3)])
            print(f"| cycle | topics churned | resident MB | state dir MB | sweep ms (max) | live pending/enqueued |")
            print(f"|---:|---:|---:|---:|---:|---|")
            first = None
            for cycle in range(1, args.cycles + 1):
                now_ms = int(time.time() * 1000)
                for start in range(0, args.topics, 1000):
                    events = []
                    for i in range(start, min(start + 1000, args.topics)):
                        topic = f"c{cycle}-{i}"
                        events.append({"type": "timer.enqueued", "topic": topic, "id": "m",
                                       "deliverAtMs": now_ms + 600_000})
                        events.append({"type": "topic.deleted", "topic": topic})
                    post(webhook, events)
                deadline = time.time() + 120
                while sample(web, "timing_sidecar_tombstones") != 0:
                    if time.time() > deadline:
                        sys.exit("tombstones did not expire within 120 s")
                    time.sleep(0.2)
                time.sleep(1)  # one more sweep: names compacted
                sweeps = [float(m) for m in re.findall(r'msg="tombstones forgotten".*?duration_ms=(\S+)',
                                                       open(log_path).read())]
                rss = resident_bytes(sidecar.pid)
                first = first or rss
                live = (sample(web, 'rocketmq_timing_messages{topic="live"}'),
                        sample(web, 'rocketmq_timer_enqueue_total{topic="live"}'))
                print(f"| {cycle} | {cycle * args.topics:,} | {rss / 1e6:.1f} | "
                      f"{directory_bytes(state) / 1e6:.1f} | {max(sweeps or [0]):.1f} | "
                      f"{live[0]:.0f}/{live[1]:.0f} |", flush=True)
                if live != (3.0, 3.0):
                    sys.exit(f"the live topic changed: {live}")
            print(f"\nlast cycle's resident memory / first's: {rss / first:.3f} (goal <= 1.10)")
        finally:
            sidecar.terminate()
            sidecar.wait()


if __name__ == "__main__":
    main()
