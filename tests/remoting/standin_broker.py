#!/usr/bin/env python3
"""A stand-in RocketMQ broker for the remoting source: it answers GET_ALL_TOPIC_CONFIG (21),
GET_BROKER_RUNTIME_INFO (28) and GET_TIMER_METRICS (61) with frames written exactly as the
protocol facts say (int32 BE length = 4 + header + body, int32 BE serialize type << 24 | header
length, JSON header, body), what any broker version would send. Stdlib only, 127.0.0.1 only.

  standin_broker.py --control DIR [--port-file F] [--topics N]

DIR/state.json  {"counter":N,"topics":{"T":count,...},"counted":{"T":count,...}}: the topic
                table and the timer counts (counted: topics only the timer counts, e.g. deleted);
                re-read when it changes. --topics N writes one with N topics at start.
DIR/mode        normal | close (closes on a request) | stall (holds a request 30 s, then closes)
                | error (answers code 1 with a remark) | garbage (answers bytes that are no frame)
DIR/served      how many GET_ALL_TOPIC_CONFIG requests were answered, rewritten on each.
--churn         every answer carries a new dataVersion (the sidecar must parse each one), for
                bench/remoting_poll.sh.
"""
import argparse
import json
import os
import socket
import struct
import threading
import time

SYSTEM_ERROR = 1
STALL_SECONDS = 30


class State:
    def __init__(self, directory, churn):
        self.directory = directory
        self.churn = churn
        self.lock = threading.Lock()
        self.mtime = None
        self.bodies = {}
        self.served = 0

    def mode(self):
        try:
            with open(os.path.join(self.directory, "mode")) as f:
                return f.read().strip() or "normal"
        except FileNotFoundError:
            return "normal"

    def body(self, code):
        path = os.path.join(self.directory, "state.json")
        with self.lock:
            mtime = os.stat(path).st_mtime_ns
            if mtime != self.mtime:
                with open(path) as f:
                    self.bodies = render(json.load(f))
                self.mtime = mtime
            if code == 21:
                self.served += 1
                with open(os.path.join(self.directory, "served.tmp"), "w") as f:
                    f.write(str(self.served))
                os.replace(os.path.join(self.directory, "served.tmp"),
                           os.path.join(self.directory, "served"))
            body = self.bodies.get(code)
            if self.churn and body is not None:
                body = body.replace(b'"stateVersion":0', b'"stateVersion":%d' % self.served)
            return body


def render(state):
    """The three bodies as a 5.x broker writes them."""
    version = {"stateVersion": 0, "timestamp": 1764680000000, "counter": state["counter"]}
    table = {
        name: {"topicName": name, "readQueueNums": 8, "writeQueueNums": 8, "perm": 6,
               "topicFilterType": "SINGLE_TAG", "topicSysFlag": 0, "order": False,
               "attributes": {}}
        for name in state["topics"]
    }
    counts = dict(state.get("counted", {}))
    counts.update(state["topics"])
    timing = {name: {"count": n, "timeStamp": 1764680000000} for name, n in counts.items()}
    runtime = {"timerReadBehind": "2", "timerOffsetBehind": "17", "timerCongestNum": "0",
               "timerEnqueueTps": "12.5", "timerDequeueTps": "11.0", "brokerVersion": "479"}
    dump = lambda value: json.dumps(value, separators=(",", ":")).encode()
    return {
        21: dump({"topicConfigTable": table, "dataVersion": version,
                  "topicQueueMappingInfoMap": {}, "mappingDataVersion": version}),
        61: dump({"dataVersion": version, "timingCount": timing}),
        28: dump({"table": runtime}),
    }


def frame(header, body=b""):
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    return (struct.pack(">i", 4 + len(header_bytes) + len(body)) +
            struct.pack(">i", len(header_bytes)) + header_bytes + body)


def read_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def serve(conn, state):
    with conn:
        while True:
            length, type_and_length = struct.unpack(">ii", read_exactly(conn, 8))
            if length > 16 * 1024 * 1024 or (type_and_length >> 24) != 0:
                return
            rest = read_exactly(conn, length - 4)
            header = json.loads(rest[:type_and_length & 0xFFFFFF])
            response = {"code": 0, "flag": 1, "language": "JAVA", "opaque": header["opaque"],
                        "serializeTypeCurrentRPC": "JSON", "version": 479}
            mode = state.mode()
            if mode == "close":
                return
            if mode == "stall":
                time.sleep(STALL_SECONDS)
                return
            if mode == "garbage":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            if mode == "error":
                response.update(code=SYSTEM_ERROR, remark="stand-in broker: error mode")
                conn.sendall(frame(response))
                continue
            body = state.body(header["code"])
            if body is None:
                response.update(code=3, remark="request type %d not supported" % header["code"])
                body = b""
            conn.sendall(frame(response, body))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--control", required=True)
    parser.add_argument("--port-file")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--topics", type=int)
    parser.add_argument("--churn", action="store_true")
    args = parser.parse_args()
    if args.topics is not None:
        topics = {"bench_%05d" % i: i % 7 for i in range(args.topics)}
        with open(os.path.join(args.control, "state.json"), "w") as f:
            json.dump({"counter": 1, "topics": topics}, f)
    state = State(args.control, args.churn)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(16)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(listener.getsockname()[1]))
        os.replace(args.port_file + ".tmp", args.port_file)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=lambda: serve_quietly(conn, state), daemon=True).start()


def serve_quietly(conn, state):
    try:
        serve(conn, state)
    except (ConnectionError, OSError, ValueError, KeyError):
        pass


if __name__ == "__main__":
    main()
