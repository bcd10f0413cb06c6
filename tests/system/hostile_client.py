#!/usr/bin/python3
"""Hostile HTTP clients for test-forwarder-hostile.sh, loopback only; every
loop is bounded and every socket closed when the command ends.

  raw HOST PORT BYTES       send BYTES (Python escapes, e.g. \\r\\n), print the answer
  slow HOST PORT N SRC... SECONDS
                            open N connections spread over the source
                            addresses SRC, each sending a request head one
                            byte a second; after SECONDS (or once each was
                            answered) print "open=<n> answered=<n> 408=<n>"
  hold HOST PORT SRC N      open N connections from SRC, send nothing, and
                            print one line per connection: its status or "open"
  second HOST PORT FIRST BYTES
                            send the request FIRST, read its whole answer (kept
                            alive), then send BYTES on the same connection and
                            print what follows
  burst HOST PORT N SRC,SRC,... REQUEST...
                            open N connections from the sources in turn, each
                            sending one REQUEST in turn (escapes as above),
                            all before any answer is read; print "<count>
                            <status line>" for each status line seen (with
                            BURST_MARK set: and "with/without <mark>", as the
                            answer holds those bytes or not)
"""
import collections
import os
import resource
import socket
import sys
import threading
import time

# A thousand sockets need more than the usual soft limit of 1024.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))


def connect(host, port, source=None, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if source:
        s.bind((source, 0))
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def read_all(s, limit=1 << 20):
    data = b""
    try:
        while len(data) < limit:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def raw(host, port, text):
    payload = text.encode("latin-1").decode("unicode_escape").encode("latin-1")
    with connect(host, int(port), timeout=10) as s:
        s.sendall(payload)
        sys.stdout.write(read_all(s).decode("latin-1"))


def slow(host, port, n, sources, seconds):
    head = b"GET /v1/health HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"x" * 4096
    conns = []
    for i in range(int(n)):
        s = connect(host, int(port), sources[i % len(sources)])
        s.setblocking(False)
        conns.append(s)
    print(f"opened={len(conns)}", flush=True)
    answers = {}
    deadline = time.monotonic() + float(seconds)
    sent = 0
    while time.monotonic() < deadline and len(answers) < len(conns):
        for i, s in enumerate(conns):
            if i in answers:
                continue
            try:
                data = s.recv(4096)
                answers[i] = data
                continue
            except BlockingIOError:
                pass
            except OSError:
                answers[i] = b""
                continue
            try:
                s.send(head[sent:sent + 1])
            except OSError:
                answers[i] = b""
        sent = min(sent + 1, len(head) - 1)
        time.sleep(1)
    timeouts = sum(1 for a in answers.values() if a.startswith(b"HTTP/1.1 408") and
                   b"application/json" in a)
    for s in conns:
        s.close()
    print(f"open={len(conns) - len(answers)} answered={len(answers)} 408={timeouts}")


def one_answer(s):
    """Reads one answer with a Content-Length body; returns its head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("the connection closed before its first answer")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += s.recv(65536)
    return head


def second(host, port, first, text):
    unescape = lambda t: t.encode("latin-1").decode("unicode_escape").encode("latin-1")
    with connect(host, int(port), timeout=10) as s:
        s.sendall(unescape(first))
        head = one_answer(s)
        if b"close" in head.lower():
            sys.exit("the first answer closed the connection")
        s.sendall(unescape(text))
        sys.stdout.write(read_all(s).decode("latin-1"))


def hold(host, port, source, n):
    conns = [connect(host, int(port), source) for _ in range(int(n))]
    # The last one is the one over the cap: answered at once. Then the
    # others are looked at without waiting: no answer means still open.
    conns[-1].settimeout(5)
    last = conns[-1].recv(4096)
    for s in conns[:-1]:
        s.setblocking(False)
        try:
            data = s.recv(4096)
            print(data.split(b"\r\n")[0].decode("latin-1") if data else "closed")
        except BlockingIOError:
            print("open")
    print(last.split(b"\r\n")[0].decode("latin-1") if last else "closed")
    for s in conns:
        s.close()


def burst(host, port, n, sources, *requests):
    """n connections from the comma-separated source addresses in turn, each
    sending one of `requests` in turn (escapes as in `second`), all before
    any answer is read; prints how many got each status line."""
    unescape = lambda t: t.encode("latin-1").decode("unicode_escape").encode("latin-1")
    sources = sources.split(",")
    mark = os.environ.get("BURST_MARK", "")
    conns = []
    for i in range(int(n)):
        s = connect(host, int(port), sources[i % len(sources)], timeout=60)
        s.sendall(unescape(requests[i % len(requests)]))
        conns.append(s)
    statuses = collections.Counter()
    lock = threading.Lock()

    def read(s):
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except OSError as e:
            data = str(e).encode()
        line = data.split(b"\r\n")[0].decode("latin-1")
        if mark:
            line += " with " if mark.encode() in data else " without "
            line += mark
        with lock:
            statuses[line] += 1

    threads = [threading.Thread(target=read, args=(s,)) for s in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for status, count in sorted(statuses.items()):
        print(f"{count} {status}")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "raw":
        raw(*args)
    elif command == "slow":
        slow(args[0], args[1], args[2], args[3:-1], args[-1])
    elif command == "hold":
        hold(*args)
    elif command == "second":
        second(*args)
    elif command == "burst":
        burst(*args)
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
