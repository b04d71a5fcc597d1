#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ipgnetpublish against a real mosquitto broker on a free loopback port.

Each check starts its own broker (127.0.0.1 only) and stops it: every
frame's message arrives in order and equals ipgnetjson's line; the broker
killed and restarted mid-stream loses nothing within max-queued, and drops
beyond it are counted and warned; a wrong password and a wrong CA are
refused with messages naming the address.
Usage: test_publish.py ROOT"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

MOSQUITTO = "/usr/sbin/mosquitto"
FAILED = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILED.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """mosquitto on 127.0.0.1:port with `extra` config lines, its state
    (subscriptions, queued messages) kept in `tmp` across restarts."""

    def __init__(self, tmp, port, extra=""):
        self.conf = os.path.join(tmp, f"mosquitto-{port}.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\npersistence true\npersistence_location {tmp}/\n"
                    f"persistence_file broker-{port}.db\n" + extra +
                    ("" if "allow_anonymous" in extra else "allow_anonymous true\n"))
        self.port, self.log, self.proc = port, os.path.join(tmp, f"mosquitto-{port}.log"), None

    def start(self):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "a"))
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port}: {open(self.log).read()[-500:]}")

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)   # saves its state, as a restart would find it
            self.proc.wait(timeout=20)
            self.proc = None


def subscribe(port, topic, count, timeout, extra=()):
    """mosquitto_sub with a persistent session (-c), so that messages reach it across a restart."""
    p = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-q", "1",
                          "-c", "-i", f"sub-{port}", "-C", str(count), "-W", str(timeout)] + list(extra),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.7)   # subscribed before the first message
    return p


def pipeline(model, port, topic, json_path, n, live=False, publish_props=()):
    src = ["videotestsrc", f"num-buffers={n}", "pattern=ball"] + (["is-live=true"] if live else [])
    return ["gst-launch-1.0"] + src + [
        "!", "video/x-raw,format=RGBx,width=320,height=240,framerate=30/1",
        "!", "ipgnetdetect", f"model={model}", "threshold=0.05",
        "!", "tee", "name=t",
        "t.", "!", "queue", "!", "ipgnetjson", f"location={json_path}", "add-empty-results=true",
        "source=test",
        "!", "fakesink",
        "t.", "!", "queue", "!", "ipgnetpublish", f"address=127.0.0.1:{port}", f"topic={topic}",
        "add-empty-results=true", "source=test"] + list(publish_props) + ["!", "fakesink"]


def dedup(lines):
    """QoS 1 is at least once: a message resent after a lost ack may come twice in a row."""
    out = []
    for l in lines:
        if not out or out[-1] != l:
            out.append(l)
    return out


def is_subsequence(sub, seq):
    it = iter(seq)
    return all(x in it for x in sub)


def main():
    model = os.environ["IPGNET_TEST_MODEL"]
    with tempfile.TemporaryDirectory() as tmp:
        js = os.path.join(tmp, "out.jsonl")

        # 1. Every frame's message, in order, equal to ipgnetjson's line.
        port = free_port()
        b = Broker(tmp, port)
        b.start()
        try:
            sub = subscribe(port, "cam/1", 20, 120)
            r = subprocess.run(pipeline(model, port, "cam/1", js, 20), capture_output=True, text=True, timeout=300)
            got, err = sub.communicate(timeout=130)
            want = open(js).read().splitlines() if os.path.exists(js) else []
            check(r.returncode == 0, "file -> broker pipeline ran" + ("" if r.returncode == 0 else ": " + r.stderr[-400:]))
            check(len(want) == 20 and got.splitlines() == want,
                  f"every frame's message arrived in order, equal to ipgnetjson's line ({len(got.splitlines())} of {len(want)})")
        finally:
            b.stop()

        # 2. and 3. Broker killed mid-stream and restarted: nothing lost
        # within max-queued; beyond it drops are counted and warned.
        for max_queued, name in ((1000, "outage"), (5, "outage-drops")):
            port = free_port()
            b = Broker(tmp, port)
            b.start()
            try:
                sub = subscribe(port, name, 10 ** 6, 60)
                p = subprocess.Popen(pipeline(model, port, name, js, 90, live=True,
                                              publish_props=[f"max-queued={max_queued}"]),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                time.sleep(1.0)
                b.stop()
                time.sleep(1.5)
                b.start()
                out, err = p.communicate(timeout=300)
                time.sleep(1.0)
                sub.send_signal(signal.SIGINT)
                got, _ = sub.communicate(timeout=30)
                want = open(js).read().splitlines()
                got = dedup(got.splitlines())
                check(p.returncode == 0, f"{name}: the pipeline kept running through the outage and ended" +
                      ("" if p.returncode == 0 else ": " + err[-400:]))
                check("Lost the MQTT broker at 127.0.0.1:%d" % port in out + err,
                      f"{name}: the loss was reported")
                if max_queued == 1000:
                    check(got == want, f"{name}: every message delivered in order after the restart "
                          f"({len(got)} of {len(want)})")
                else:
                    import re
                    m = re.search(r"(\d+) messages were dropped while it was away", out + err)
                    dropped = int(m.group(1)) if m else -1
                    check("dropping the oldest" in out + err and dropped > 0,
                          f"{name}: drops warned and counted ({dropped})")
                    check(len(got) == len(want) - dropped and is_subsequence(got, want),
                          f"{name}: what arrived is in order and only the counted drops are missing "
                          f"({len(got)} + {dropped} of {len(want)})")
            finally:
                b.stop()

        # 4. Wrong password: refused, the message names the address.
        port = free_port()
        pw = os.path.join(tmp, "passwd")
        subprocess.run(["mosquitto_passwd", "-c", "-b", pw, "cam", "right"], check=True, capture_output=True)
        b = Broker(tmp, port, f"allow_anonymous false\npassword_file {pw}\n")
        b.start()
        try:
            wrong = os.path.join(tmp, "wrong.txt")
            open(wrong, "w").write("wrong\n")
            r = subprocess.run(pipeline(model, port, "pw", js, 2, publish_props=["username=cam", f"password-file={wrong}"]),
                               capture_output=True, text=True, timeout=120)
            check(r.returncode != 0 and f"127.0.0.1:{port} refused the connection" in r.stdout + r.stderr,
                  "a wrong password is refused with the address: " + (r.stdout + r.stderr).strip().splitlines()[-1:][0]
                  if (r.stdout + r.stderr).strip() else "a wrong password is refused")
            right = os.path.join(tmp, "right.txt")
            open(right, "w").write("right\n")
            r = subprocess.run(pipeline(model, port, "pw", js, 2, publish_props=["username=cam", f"password-file={right}"]),
                               capture_output=True, text=True, timeout=120)
            check(r.returncode == 0, "the right password is accepted" + ("" if r.returncode == 0 else ": " + r.stderr[-300:]))
        finally:
            b.stop()

        # 5. TLS: the broker's CA is accepted, another CA is refused.
        def openssl(*args):
            subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=tmp)
        for ca in ("ca", "other"):
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={ca}",
                    "-keyout", f"{ca}.key", "-out", f"{ca}.crt")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
                "-out", "server.csr")
        ext = os.path.join(tmp, "san.ext")
        open(ext, "w").write("subjectAltName=IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", ext, "-out", "server.crt")
        port = free_port()
        b = Broker(tmp, port, f"cafile {tmp}/ca.crt\ncertfile {tmp}/server.crt\nkeyfile {tmp}/server.key\n")
        b.start()
        try:
            r = subprocess.run(pipeline(model, port, "tls", js, 2, publish_props=[f"tls-ca-file={tmp}/other.crt"]),
                               capture_output=True, text=True, timeout=120)
            check(r.returncode != 0 and f"127.0.0.1:{port}" in r.stdout + r.stderr,
                  "a broker certificate from another CA is refused with the address")
            r = subprocess.run(pipeline(model, port, "tls", js, 2, publish_props=[f"tls-ca-file={tmp}/ca.crt"]),
                               capture_output=True, text=True, timeout=120)
            check(r.returncode == 0, "TLS with the broker's CA works" + ("" if r.returncode == 0 else ": " + r.stderr[-300:]))
        finally:
            b.stop()

        # 6. Nothing listening: the start fails with the address.
        port = free_port()
        r = subprocess.run(pipeline(model, port, "x", js, 2), capture_output=True, text=True, timeout=120)
        check(r.returncode != 0 and f"127.0.0.1:{port}" in r.stdout + r.stderr,
              "a refused connection fails the start with the address")

    print(f"{'FAILED: ' + ', '.join(FAILED) if FAILED else 'all passed'}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
