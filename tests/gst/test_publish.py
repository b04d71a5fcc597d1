#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ipgnetpublish against a real mosquitto broker on a free loopback port.

Each check starts its own broker (127.0.0.1 only) and stops it: every
frame's message arrives in order and equals ipgnetjson's line; the broker
killed and restarted mid-stream loses nothing within max-queued, and drops
beyond it are counted and warned; a wrong password and a wrong CA are
refused with messages naming the address; pipelines/publish.sh sends a
file's detections.
Usage: test_publish.py ROOT MQTT_COLLECT"""
import os
import re
import pwd
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

MOSQUITTO = "/usr/sbin/mosquitto"
COLLECT = None   # tests/gst/mqtt-collect, from the command line
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
            # Started as root, mosquitto switches to the user named here (by
            # default "mosquitto", who cannot write its state into tmp).
            f.write(f"listener {port} 127.0.0.1\nuser {pwd.getpwuid(os.getuid()).pw_name}\n"
                    f"persistence true\npersistence_location {tmp}/\n"
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


def subscribe(port, topic, count, timeout):
    """mqtt-collect with a persistent session, so that messages reach it
    across a broker restart; returns once it is subscribed. count 0: until
    it gets SIGINT."""
    p = subprocess.Popen([COLLECT, str(port), topic, f"sub-{port}", str(count), str(timeout)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()   # "ready", or why not (then EOF once it gives up)
    if line.strip() != "ready":
        p.kill()
        raise RuntimeError(f"the subscriber did not subscribe: {line.strip()}")
    p.lines = []
    p.reader = threading.Thread(target=lambda: p.lines.extend(l.rstrip("\n") for l in p.stdout), daemon=True)
    p.reader.start()
    return p


def collect(sub, last, timeout):
    """The lines sub received once `last` arrived (or timeout seconds
    passed), then stops it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and last not in sub.lines and sub.poll() is None:
        time.sleep(0.05)
    if sub.poll() is None:
        sub.send_signal(signal.SIGINT)
    sub.wait(timeout=30)
    sub.reader.join(timeout=30)
    return list(sub.lines)


def pipeline(model, port, topic, json_path, n, live=False, publish_props=()):
    if os.path.exists(json_path):
        os.remove(json_path)   # what is there is this pipeline's
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


def wait_lines(path, n, proc, timeout):
    """Waits until the file at path has n lines (True) or proc ended or
    timeout seconds passed (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.exists(path):
            with open(path) as f:
                if sum(1 for _ in f) >= n:
                    return True
        time.sleep(0.05)
    return False


def dedup(lines):
    """QoS 1 is at least once: a message resent after a lost acknowledgement
    comes again. Every frame's message is unique (its timestamp), so the
    first copy of each is what counts."""
    seen, out = set(), []
    for l in lines:
        if l not in seen:
            seen.add(l)
            out.append(l)
    return out


def is_subsequence(sub, seq):
    it = iter(seq)
    return all(x in it for x in sub)


def main():
    global COLLECT
    COLLECT = sys.argv[2]
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
            want = open(js).read().splitlines() if os.path.exists(js) else []
            got = "\n".join(collect(sub, want[-1] if want else None, 30))
            check(r.returncode == 0, "file -> broker pipeline ran" + ("" if r.returncode == 0 else ": " + r.stderr[-400:]))
            check(len(want) == 20 and got.splitlines() == want,
                  f"every frame's message arrived in order, equal to ipgnetjson's line ({len(got.splitlines())} of {len(want)})")
        finally:
            b.stop()

        # 1b. pipelines/publish.sh: a recorded file's detections reach the
        # broker, one message per frame, equal to the JSON lines it writes.
        clip = os.path.join(tmp, "clip.mp4")
        r = subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=30", "pattern=ball", "!",
                            "video/x-raw,width=320,height=240,framerate=30/1", "!", "x264enc", "!",
                            "mp4mux", "!", "filesink", f"location={clip}"], capture_output=True, text=True,
                           timeout=120)
        check(r.returncode == 0, "a 30-frame clip for publish.sh" + ("" if r.returncode == 0 else ": " + r.stderr[-300:]))
        port = free_port()
        b = Broker(tmp, port)
        b.start()
        try:
            sub = subscribe(port, "file/1", 0, 300)
            if os.path.exists(js):
                os.remove(js)
            r = subprocess.run([os.path.join(sys.argv[1], "pipelines", "publish.sh"), clip, model,
                                f"127.0.0.1:{port}", "file/1", js], capture_output=True, text=True, timeout=300,
                               env=dict(os.environ, IPGNET_THRESHOLD="0.05"))
            want = open(js).read().splitlines() if os.path.exists(js) else []
            got = collect(sub, want[-1] if want else None, 30)
            check(r.returncode == 0, "pipelines/publish.sh ran" + ("" if r.returncode == 0 else ": " + r.stderr[-400:]))
            check(len(want) == 30 and got == want,
                  f"publish.sh: every frame of the file arrived in order, equal to its JSON line "
                  f"({len(got)} of {len(want)})")
        finally:
            b.stop()

        # 2. and 3. Broker killed mid-stream and restarted: nothing lost
        # within max-queued; beyond it drops are counted and warned.
        for max_queued, name in ((1000, "outage"), (5, "outage-drops")):
            port = free_port()
            b = Broker(tmp, port)
            b.start()
            try:
                sub = subscribe(port, name, 0, 600)
                p = subprocess.Popen(pipeline(model, port, name, js, 90, live=True,
                                              publish_props=[f"max-queued={max_queued}"]),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                # The outage starts mid-stream, once frames flow (the model
                # may take a while to load on a busy machine).
                flowing = wait_lines(js, 10, p, 120)
                b.stop()
                time.sleep(1.5)
                b.start()
                out, err = p.communicate(timeout=300)
                check(flowing, f"{name}: frames were flowing when the broker was killed")
                want = open(js).read().splitlines()
                got = dedup(collect(sub, want[-1], 30))
                check(p.returncode == 0, f"{name}: the pipeline kept running through the outage and ended" +
                      ("" if p.returncode == 0 else ": " + err[-400:]))
                check("Lost the MQTT broker at 127.0.0.1:%d" % port in out + err,
                      f"{name}: the loss was reported")
                if max_queued == 1000:
                    check(got == want, f"{name}: every message delivered in order after the restart "
                          f"({len(got)} of {len(want)})")
                else:
                    m = re.search(r"(\d+) messages were dropped while it was away", out + err)
                    dropped = int(m.group(1)) if m else -1
                    check("dropping the oldest" in out + err and dropped > 0,
                          f"{name}: drops warned and counted ({dropped})")
                    # A dropped message may have reached the broker before
                    # the outage without its acknowledgement coming back:
                    # at most the max_queued the queue held.
                    missing = len(want) - len(got)
                    check(dropped - max_queued <= missing <= dropped and is_subsequence(got, want),
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
            said = [l for l in (r.stdout + r.stderr).splitlines() if "ERROR: from element" in l]
            check(r.returncode != 0 and f"127.0.0.1:{port} refused the connection" in r.stdout + r.stderr,
                  "a wrong password is refused with the address: " + (said[0] if said else "no error message"))
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
