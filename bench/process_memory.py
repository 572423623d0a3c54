#!/usr/bin/env python3
"""Resident memory of the real running binary per tracked topic and per pending timer.

    bench/process_memory.py SIDECAR [--topics 100000] [--timers 1000000] [--scale-bench PATH]
                            [-- extra sidecar flags]

1. topics: --topics topics created over the webhook (topic.created, 1,000 a request), then a
   tenth of them deleted and created again (a newer revision), as a catalog churns. Resident
   memory after, minus resident memory of the started, once-scraped process, per tracked topic.
2. timers: --timers timing messages enqueued (timer.enqueued, 1,000 a request, due in an hour),
   spread over 1,000 of those topics; the growth per pending timer.
3. a gzipped scrape: the growth by the scrape buffers the sidecar keeps from one scrape to the
   next (about 1 KB per topic: the rendered text, kept so that scrapes do not fault in new pages),
   shown apart from the state.
With --scale-bench, the in-process figure of bench/scale_bench.cpp (the engine alone, no server)
for as many topics is printed beside the first. Goals: 200 B per topic, 64 B per timer.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidecar_process import Sidecar, binary_argument  # noqa: E402

BATCH = 1000


def settle(sidecar):
    time.sleep(1.0)
    return sidecar.resident_bytes()


def in_process_bytes_per_topic(scale_bench, topics):
    # Only the memory row matters: the other measures run at their smallest sizes.
    output = subprocess.run(
        [scale_bench, "--topics", "2000", "--deletes", "10", "--baseline-deletes", "1",
         "--list-topics", "2000", "--memory-topics", str(topics), "--repeats", "1"],
        check=True, capture_output=True, text=True).stdout
    for line in output.splitlines():
        if line.startswith("| memory:"):
            return float(line.split("|")[2])
    sys.exit("scale_bench printed no memory row:\n" + output)


def main():
    binary = binary_argument(sys.argv)
    parser = argparse.ArgumentParser()
    parser.add_argument("--topics", type=int, default=100_000)
    parser.add_argument("--timers", type=int, default=1_000_000)
    parser.add_argument("--scale-bench")
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args(sys.argv[2:])

    with tempfile.TemporaryDirectory() as tmp:
        sidecar = Sidecar(binary, os.path.join(tmp, "sidecar.log"),
                          ["--max-topics", str(2 * args.topics), *args.extra])
        try:
            sidecar.scrape_gzip()
            base = settle(sidecar)
            revision = 1
            for start in range(0, args.topics, BATCH):
                sidecar.post([{"type": "topic.created", "topic": f"topic-{i:06d}",
                               "revision": revision}
                              for i in range(start, min(start + BATCH, args.topics))])
                revision += 1
            churned = args.topics // 10
            for start in range(0, churned, BATCH):
                names = [f"topic-{i:06d}" for i in range(start, min(start + BATCH, churned))]
                sidecar.post([{"type": "topic.deleted", "topic": n, "revision": revision}
                              for n in names])
                sidecar.post([{"type": "topic.created", "topic": n, "revision": revision + 1}
                              for n in names])
                revision += 2
            with_topics = settle(sidecar)

            now_ms = int(time.time() * 1000)
            for start in range(0, args.timers, BATCH):
                sidecar.post([{"type": "timer.enqueued", "topic": f"topic-{i % 1000:06d}",
                               "id": f"m{i}", "deliverAtMs": now_ms + 3_600_000}
                              for i in range(start, min(start + BATCH, args.timers))])
            with_timers = settle(sidecar)
            threads = sidecar.threads()
            sidecar.scrape_gzip()
            scraped = settle(sidecar)
        finally:
            sidecar.stop()

    per_topic = (with_topics - base) / args.topics
    per_timer = (with_timers - with_topics) / args.timers
    print(f"| measure (real binary{' ' + ' '.join(args.extra) if args.extra else ''}) | value | goal |")
    print("|---|---:|---:|")
    print(f"| resident after start, MB | {base / 1e6:.1f} | |")
    print(f"| resident with {args.topics:,} topics, MB | {with_topics / 1e6:.1f} | |")
    print(f"| resident with {args.timers:,} timers more, MB | {with_timers / 1e6:.1f} | |")
    print(f"| resident after a gzipped scrape, MB (+ kept scrape buffers) | {scraped / 1e6:.1f} | |")
    print(f"| threads | {threads} | |")
    print(f"| bytes per tracked topic | {per_topic:.0f} | 200 |")
    if args.scale_bench:
        print(f"| bytes per tracked topic, in-process (scale_bench) | "
              f"{in_process_bytes_per_topic(args.scale_bench, args.topics):.0f} | |")
    print(f"| bytes per pending timer | {per_timer:.0f} | 64 |")


if __name__ == "__main__":
    main()
