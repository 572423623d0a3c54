#!/usr/bin/env python3
"""Captures a real broker's response frames for the codec's unit tests and the fuzz corpus:

  capture_frames.py HOST:PORT OUT_DIR

sends GET_ALL_TOPIC_CONFIG (21), GET_TIMER_METRICS (61), GET_BROKER_RUNTIME_INFO (28) and a
request code no broker supports (99999) on one connection, and writes each raw response frame,
byte for byte as received, to OUT_DIR/response_<code>.bin. Stdlib only."""
import json
import socket
import struct
import sys


def request(code, opaque):
    header = json.dumps({"code": code, "flag": 0, "language": "CPP", "opaque": opaque,
                         "serializeTypeCurrentRPC": "JSON", "version": 479},
                        separators=(",", ":")).encode()
    return struct.pack(">ii", 4 + len(header), len(header)) + header


def read_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise SystemExit("the broker closed the connection")
        data += chunk
    return data


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    conn = socket.create_connection((host, int(port)), timeout=10)
    for opaque, code in enumerate((21, 61, 28, 99999), start=1):
        conn.sendall(request(code, opaque))
        prefix = read_exactly(conn, 4)
        (length,) = struct.unpack(">i", prefix)
        frame = prefix + read_exactly(conn, length)
        with open("%s/response_%d.bin" % (sys.argv[2], code), "wb") as f:
            f.write(frame)
        header_length = struct.unpack(">i", frame[4:8])[0] & 0xFFFFFF
        print(code, frame[8:8 + header_length].decode())


if __name__ == "__main__":
    main()
