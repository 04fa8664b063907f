#!/usr/bin/env python3
"""slot.py N BASE CMD...: runs CMD once it holds one of N job slots.

A slot is an exclusive flock on BASE.slot1 .. BASE.slotN, shared by every
tests/run.sh of one `make test` (CI_SLOTS). The lock is this process's, on
a descriptor CMD does not inherit, so what CMD leaves running (a daemon)
never holds a slot; it is released when CMD ends. Waiting polls every
0.2 s from this one process: no process is started per try. Exits with
CMD's status (128 + N when a signal N ended it).
"""
import fcntl
import os
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.stderr.write("usage: slot.py N BASE CMD...\n")
        return 2
    n, base, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    fds = [os.open("%s.slot%d" % (base, i), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                   0o600) for i in range(1, n + 1)]
    while True:
        for fd in fds:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            for other in fds:
                if other != fd:
                    os.close(other)
            rc = subprocess.call(cmd)
            return rc if rc >= 0 else 128 - rc
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
