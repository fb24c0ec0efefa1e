#!/usr/bin/env python3
"""free-ports.py [N]: the first of N consecutive TCP ports (1 by default) free on 127.0.0.1 and on
every address, handed to no other test of this machine in the last hour.

Tests run side by side (make test TEST_JOBS=N) pick their ports when they start and bind some only
later (a canary's second slot, a restarted controller), so a port merely free now could be taken by
the test beside. Every port handed out is written, with the time, to a register shared by all the
tests of the machine (TMPDIR/auriga-test-ports, under a lock), and no port in it is handed out again
for an hour. Ports come from 20000-32767, below the kernel's range for outgoing connections (32768
up), so no connection's own end takes one either. Exits 1 when no free range was found in 200 tries.
"""
import fcntl
import os
import random
import socket
import sys
import time

LOW, HIGH = 20000, 32767
HOLD_S = 3600


def bindable(port):
    for addr in ("127.0.0.1", "0.0.0.0"):
        s = socket.socket()
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "auriga-test-ports")
    now = time.time()
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        held = {}
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit():
                try:
                    at = float(parts[1])
                except ValueError:
                    continue
                if now - at < HOLD_S:
                    held[int(parts[0])] = at
        for _ in range(200):
            base = random.randrange(LOW, HIGH - n + 1)
            ports = range(base, base + n)
            if any(p in held for p in ports) or not all(bindable(p) for p in ports):
                continue
            for p in ports:
                held[p] = now
            f.seek(0)
            f.truncate()
            f.writelines("%d %.0f\n" % (p, at) for p, at in sorted(held.items()))
            f.flush()
            print(base)
            return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
