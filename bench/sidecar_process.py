"""The real timing-sidecar binary as a child process, for the memory benchmarks: start it on free
loopback ports, post webhook batches, scrape, and read its resident memory and thread count."""
import gzip
import json
import os
import re
import subprocess
import sys
import time
import urllib.request


class Sidecar:
    def __init__(self, binary, log_path, extra_args=()):
        self._log_path = log_path
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                [binary, "--web.listen-address", "127.0.0.1:0",
                 "--webhook.listen-address", "127.0.0.1:0", *extra_args], stderr=log)
        self.web = self.webhook = None
        for _ in range(400):
            found = re.search(r'msg="timing-sidecar started".* web=(\S+) webhook=(\S+)',
                              open(log_path).read())
            if found:
                self.web, self.webhook = found.group(1), found.group(2)
                return
            time.sleep(0.05)
        self.stop()
        sys.exit("the sidecar did not start:\n" + open(log_path).read())

    def post(self, events):
        request = urllib.request.Request(self.webhook + "/v1/events", json.dumps(events).encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as reply:
            if reply.status != 200:
                sys.exit(f"webhook answered {reply.status}: {reply.read()}")

    def scrape_gzip(self):
        request = urllib.request.Request(self.web + "/metrics", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as reply:
            body = reply.read()
            if reply.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return body

    def status(self, field):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise RuntimeError("no " + field)

    def resident_bytes(self):
        return self.status("VmRSS") * 1024

    def threads(self):
        return self.status("Threads")

    def stop(self):
        self.process.terminate()
        self.process.wait()


def binary_argument(argv):
    if len(argv) < 2 or not os.access(argv[1], os.X_OK):
        sys.exit(f"usage: {argv[0]} <timing-sidecar binary> [options]")
    return argv[1]
