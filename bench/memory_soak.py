#!/usr/bin/env python3
"""Resident memory of the real binary over time under a steady load and under a saturating one.

    bench/memory_soak.py SIDECAR [--load steady|saturating] [--minutes 10] [-- extra sidecar flags]

steady: 1,000 topics; every 0.5 s 1,000 timing messages enqueued (one per topic, due 5 s later)
and the 1,000 enqueued 5 s before dequeued, so 10,000 stay pending; a gzipped scrape every 2 s.
saturating: the same topics and scrapes, with wrk posting batches of 500 enqueued-then-dequeued
messages over 8 keep-alive connections as fast as the sidecar takes them.
Prints resident memory and threads every minute, then the spread from minute 2 to the end.
Goal: at most 30 MB resident, flat (the spread within a few MB) from minute 2 to minute 10.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidecar_process import Sidecar, binary_argument  # noqa: E402

TOPICS = 1000
TICK_S = 0.5
LIFETIME_TICKS = 10  # due 5 s after enqueue: 10,000 pending
SCRAPE_EVERY_TICKS = 4


def start_wrk(sidecar, tmp, seconds):
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (scripts/setup.sh installs it)")
    deliver_ms = int(time.time() * 1000) + 1000
    events = []
    for i in range(500):
        topic = f"topic-{i * 2:04d}"
        events.append({"type": "timer.enqueued", "topic": topic, "id": f"sat{i}",
                       "deliverAtMs": deliver_ms})
        events.append({"type": "timer.dequeued", "topic": topic, "id": f"sat{i}"})
    script = os.path.join(tmp, "post.lua")
    with open(script, "w") as lua:
        lua.write('wrk.method = "POST"\n'
                  'wrk.headers["Content-Type"] = "application/json"\n'
                  f"wrk.body = {json.dumps(json.dumps(events))}\n")
    return subprocess.Popen(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", script, sidecar.webhook + "/v1/events"],
        stdout=subprocess.PIPE, text=True)


def main():
    binary = binary_argument(sys.argv)
    parser = argparse.ArgumentParser()
    parser.add_argument("--load", choices=["steady", "saturating"], default="steady")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args(sys.argv[2:])

    with tempfile.TemporaryDirectory() as tmp:
        sidecar = Sidecar(binary, os.path.join(tmp, "sidecar.log"), args.extra)
        wrk = None
        try:
            seconds = int(args.minutes * 60)
            if args.load == "saturating":
                wrk = start_wrk(sidecar, tmp, seconds)
            print(f"| minute | resident MB | threads |  ({args.load}"
                  f"{', ' + ' '.join(args.extra) if args.extra else ''})")
            print("|---:|---:|---:|", flush=True)
            start = time.monotonic()
            tick = 0
            samples = {}
            while time.monotonic() - start < seconds:
                now_ms = int(time.time() * 1000)
                events = [{"type": "timer.enqueued", "topic": f"topic-{t:04d}", "id": f"{tick}-{t}",
                           "deliverAtMs": now_ms + LIFETIME_TICKS * int(TICK_S * 1000)}
                          for t in range(TOPICS)]
                if tick >= LIFETIME_TICKS:
                    events += [{"type": "timer.dequeued", "topic": f"topic-{t:04d}",
                                "id": f"{tick - LIFETIME_TICKS}-{t}"} for t in range(TOPICS)]
                sidecar.post(events)
                if tick % SCRAPE_EVERY_TICKS == 0:
                    sidecar.scrape_gzip()
                tick += 1
                minute = int((time.monotonic() - start) // 60)
                if minute not in samples and minute > 0:
                    samples[minute] = sidecar.resident_bytes()
                    print(f"| {minute} | {samples[minute] / 1e6:.1f} | {sidecar.threads()} |",
                          flush=True)
                time.sleep(max(0.0, start + tick * TICK_S - time.monotonic()))
            final = int(round((time.monotonic() - start) / 60))
            if final not in samples:
                samples[final] = sidecar.resident_bytes()
                print(f"| {final} | {samples[final] / 1e6:.1f} | {sidecar.threads()} |")
            if wrk is not None:
                output = wrk.communicate(timeout=60)[0]  # it stops by itself after -d
                rates = [line for line in output.splitlines() if "Requests/sec" in line]
                if rates:
                    per_second = float(rates[0].split()[1]) * 1000
                    print(f"\nwebhook load: {per_second:,.0f} events/s (wrk, 1,000 a request)")
        finally:
            if wrk is not None and wrk.poll() is None:
                wrk.kill()
            sidecar.stop()
    later = [rss for minute, rss in samples.items() if minute >= 2] or list(samples.values())
    print(f"\nfrom minute 2: {min(later) / 1e6:.1f} to {max(later) / 1e6:.1f} MB "
          f"(spread {(max(later) - min(later)) / 1e6:.1f} MB); goal: at most 30 MB, flat")


if __name__ == "__main__":
    main()
