# A Git remote for the tests: passes connections on to a real one (git daemon) until FLAG exists;
# from then on it accepts, reads what the client says and answers nothing for 75 s. LOG gets a line
# per silent connection ("hung"), when its client closes it ("client closed") and when the
# connection is dropped ("released").
#   python3 git_proxy.py PORT TARGET_PORT FLAG LOG
import os, socket, sys, threading, time
port, target, flag, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()

def note(s):
    with lock, open(log, "a") as f:
        f.write(s + "\n")

def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

def silent(c):
    note("hung")
    c.settimeout(1)
    end = time.time() + 75
    while time.time() < end:
        try:
            if not c.recv(65536):
                note("client closed")
                break
        except socket.timeout:
            pass
        except OSError:
            break
    c.close()
    note("released")

l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(16)
while True:
    c, _ = l.accept()
    if os.path.exists(flag):
        threading.Thread(target=silent, args=(c,), daemon=True).start()
    else:
        u = socket.create_connection(("127.0.0.1", target))
        threading.Thread(target=pipe, args=(c, u), daemon=True).start()
        threading.Thread(target=pipe, args=(u, c), daemon=True).start()
