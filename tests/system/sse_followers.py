#!/usr/bin/python3
"""Many SSE followers of one build's /monitor/<id>, on asyncio sockets.

sse_followers.py URL --followers N --lines L --end STATE [--slow S]
                 [--late K] [--then CMD] [--health URL]

Connects N followers (HTTP/1.0: the stream ends with the connection) and S
slow ones (a 4 KiB receive buffer, reading nothing after the first event),
waits until every one has its first event, runs CMD (the build then writes
its lines: "line 1" ... "line L", maybe padded after a blank), and reads. A follower is complete when its
message events are exactly "line 1" ... "line L" in order and its last event
is `end` naming STATE. A slow follower starts reading once the others are
done (after K late followers, which come once the others are done, have
read everything); it is cut when its events are a prefix of the lines followed by an
`error` event naming SlowFollower. Meanwhile GET /v1/health is asked every
0.2 s. Prints one line of counts, key=value, and the first few problems.
"""

import argparse
import asyncio
import socket
import subprocess
import sys
import time
import urllib.parse


def parse_events(body):
    """(message data list, [(event, data)] of named events) of an SSE body."""
    messages, named = [], []
    for block in body.split(b"\n\n"):
        event, data = None, []
        for line in block.split(b"\n"):
            if line.startswith(b"event: "):
                event = line[7:].decode()
            elif line.startswith(b"data: "):
                data.append(line[6:])
        if not data:
            continue
        if event is None:
            messages.append(b"\n".join(data))
        else:
            named.append((event, b"\n".join(data).decode(errors="replace")))
    return messages, named


class Follower:
    def __init__(self, slow):
        self.slow = slow
        self.chunks = []
        self.first = asyncio.get_running_loop().create_future()
        self.error = None

    async def run(self, host, port, path, release):
        try:
            reader, writer = await self.connect(host, port)
            writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n"
                         "Accept: text/event-stream\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
                raise RuntimeError(head.split(b"\r\n")[0].decode())
            self.chunks.append(await reader.readuntil(b"\n\n"))  # the state event
            self.first.set_result(True)
            if self.slow:
                await release.wait()
            while True:
                chunk = await reader.read(1 << 16)
                if not chunk:
                    break
                self.chunks.append(chunk)
            writer.close()
        except Exception as e:  # noqa: BLE001 - reported, counted
            self.error = f"{type(e).__name__}: {e}"
            if not self.first.done():
                self.first.set_result(False)

    async def connect(self, host, port):
        if not self.slow:
            return await asyncio.open_connection(host, port)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        return await asyncio.open_connection(sock=sock, limit=4096)

    def verdict(self, lines, end):
        if self.error:
            return "error", self.error
        messages, named = parse_events(b"".join(self.chunks))
        # The build's own lines; the log also holds ours (start, end mark).
        # "line N" and what pads it.
        messages = [b" ".join(m.split(b" ", 2)[:2]) for m in messages if m.startswith(b"line ")]
        expected = [f"line {i}".encode() for i in range(1, len(messages) + 1)]
        if messages != expected:
            first = next(i for i, (a, b) in enumerate(zip(messages, expected)) if a != b) \
                if messages[:len(expected)] != expected else len(messages)
            return "disorder", f"{len(messages)} lines, wrong at {first}"
        last = named[-1] if named else ("", "")
        if last == ("end", end) and len(messages) == lines:
            return "complete", ""
        if last[0] == "error" and "SlowFollower" in last[1]:
            return "cut", f"after {len(messages)} lines"
        return "incomplete", f"{len(messages)} of {lines} lines, last event {last}"


# Asks GET /v1/health every 0.2 s from a process of its own (this one is
# busy reading the followers) until its stdin closes; prints "ok total p99_ms
# p50_ms max_ms". With a second URL (a baseline: nginx answering the same
# bytes, in the same run) it asks that right after each time, and prints its
# five numbers too: what of a slow answer is the machine's (this watcher
# waiting for a CPU), not the server's.
HEALTH_WATCHER = """
import http.client, select, sys, time, urllib.parse
def ask(url, times):
    u = urllib.parse.urlsplit(url)
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
        c.request("GET", u.path or "/")
        ok = c.getresponse().status == 200
        c.close()
    except OSError:
        return 0
    if ok:
        times.append(time.monotonic() - t0)
    return int(ok)
def summary(ok, total, times):
    times.sort()
    def at(q):
        return round(times[min(len(times) - 1, int(len(times) * q))] * 1000, 1) if times else 0
    return [ok, total, at(0.99), at(0.5), round(times[-1] * 1000, 1) if times else 0]
urls = sys.argv[1:]
ok = [0] * len(urls)
times = [[] for _ in urls]
total = 0
while not select.select([sys.stdin], [], [], 0.2)[0]:
    total += 1
    for i, url in enumerate(urls):
        ok[i] += ask(url, times[i])
print(*sum((summary(ok[i], total, times[i]) for i in range(len(urls))), []))
"""


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--followers", type=int, required=True)
    parser.add_argument("--lines", type=int, required=True)
    parser.add_argument("--end", required=True)
    parser.add_argument("--slow", type=int, default=0)
    parser.add_argument("--late", type=int, default=0)
    parser.add_argument("--then", default="")
    parser.add_argument("--health", default="")
    parser.add_argument("--health-baseline", default="")
    args = parser.parse_args()
    u = urllib.parse.urlsplit(args.url)
    path = u.path + (f"?{u.query}" if u.query else "")

    release = asyncio.Event()
    fast = [Follower(False) for _ in range(args.followers)]
    slow = [Follower(True) for _ in range(args.slow)]
    tasks = []
    # Connect in waves, as people do, not all in one instant.
    for i, f in enumerate(fast + slow):
        tasks.append(asyncio.create_task(f.run(u.hostname, u.port, path, release)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    connected = await asyncio.gather(*(f.first for f in fast + slow))
    started = time.monotonic()
    if args.then:
        subprocess.run(args.then, shell=True, check=True)
    watched = [args.health] + ([args.health_baseline] if args.health_baseline else [])
    watcher = subprocess.Popen([sys.executable, "-c", HEALTH_WATCHER, *watched],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) \
        if args.health else None
    await asyncio.gather(*(t for t, f in zip(tasks, fast + slow) if not f.slow))
    # Late followers come while the slow ones still hold the build's reader.
    late = [Follower(False) for _ in range(args.late)]
    await asyncio.gather(*(f.run(u.hostname, u.port, path, release) for f in late))
    release.set()
    await asyncio.gather(*tasks)
    health = ["0"] * 10
    if watcher:
        health = watcher.communicate("")[0].split() + ["0"] * 5
    counts = {"connected": sum(connected)}
    problems = []
    for f in fast + slow + late:
        kind, why = f.verdict(args.lines, args.end)
        key = ("slow_" if f.slow else "late_" if f in late else "") + kind
        counts[key] = counts.get(key, 0) + 1
        if why and len(problems) < 5 and (kind != "cut" or not f.slow):
            problems.append(f"{key}: {why}")
    (counts["health_ok"], counts["health_total"], counts["health_p99_ms"],
     counts["health_p50_ms"], counts["health_max_ms"]) = health[:5]
    if args.health_baseline:
        (counts["baseline_ok"], counts["baseline_total"], counts["baseline_p99_ms"],
         counts["baseline_p50_ms"], counts["baseline_max_ms"]) = health[5:10]
    counts["seconds"] = round(time.monotonic() - started, 1)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    for p in problems:
        print(p)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
