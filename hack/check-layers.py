#!/usr/bin/env python3
"""The pure rooms stay pure: api/, controller/model/ and controller/rollout/, and the engine's
decisions (controller/engine/decide.[ch]), decide from what they are given, so they include nothing
that does I/O and call no file, socket, process or clock function. Their project includes are each
other's headers and the value types of a Docker create request (docker/docker_spec.h). Run by `make lint`; prints each breach as file:line: what."""
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PURE = ["api", "controller/model", "controller/rollout"]
# Pure files in rooms that are not: the engine's decisions, which the pass feeds and carries out.
PURE_FILES = ["controller/engine/decide.c", "controller/engine/decide.h"]
ALLOWED_PROJECT = re.compile(r'^(model/|rollout/|docker/docker_spec\.h$|engine/decide\.h$|[a-z_]+\.h$)')
FORBIDDEN_SYSTEM = re.compile(
    r'^(dirent|fcntl|unistd|poll|netdb|spawn|signal|ftw|sys/(stat|socket|epoll|wait|un|mman|inotify|eventfd|timerfd))\.h$'
    r'|^(curl|git2|openssl/ssl|microhttpd)')
FORBIDDEN_CALL = re.compile(
    r'\b(open|openat|fopen|fdopen|read|write|pread|pwrite|close|unlink|rename|mkdir|scandir|opendir|'
    r'readdir|stat|lstat|fstat|access|socket|connect|bind|listen|accept|popen|system|fork|execv|execvp|'
    r'posix_spawn|getenv|setenv|printf|fprintf|vfprintf|puts|fputs|fwrite|fread|fgets|getline|'
    r'clock_gettime|gettimeofday|time|now_ms|wall_ms|sleep|usleep|nanosleep|rand|random)\s*\(')
# The base module's own abort path (BUG, out of memory) and the clock wrappers it defines for the
# rooms that are not pure.
EXEMPT_CALLS = {"api/util.c"}


def strip(text):
    """Blanks out comments and string and character literals, keeping line breaks."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join("\n" if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def main():
    breaches = []
    files = 0
    rels = [f"{room}/{name}" for room in PURE for name in sorted(os.listdir(os.path.join(TOP, room)))
            if name.endswith((".c", ".h"))] + PURE_FILES
    for rel in rels:
        files += 1
        with open(os.path.join(TOP, rel), encoding="utf-8") as f:
            text = f.read()
        for no, line in enumerate(text.split("\n"), 1):
            m = re.match(r'\s*#\s*include\s+([<"])([^>"]+)[>"]', line)
            if not m:
                continue
            if m.group(1) == '"' and not ALLOWED_PROJECT.match(m.group(2)):
                breaches.append(f"{rel}:{no}: includes \"{m.group(2)}\", a header of a room that does I/O")
            if m.group(1) == "<" and FORBIDDEN_SYSTEM.match(m.group(2)):
                breaches.append(f"{rel}:{no}: includes <{m.group(2)}>, an I/O interface")
        if rel in EXEMPT_CALLS:
            continue
        for no, line in enumerate(strip(text).split("\n"), 1):
            for m in FORBIDDEN_CALL.finditer(line):
                before = line[:m.start()].rstrip()
                if before.endswith(("->", ".")):
                    continue
                # A declaration ("int64_t now_ms(void);"), not a call: a type name stands before it.
                prev = re.search(r'([A-Za-z_][A-Za-z0-9_]*|\*)$', before)
                if prev and prev.group(1) not in ("return", "sizeof", "case", "else", "do"):
                    continue
                breaches.append(f"{rel}:{no}: calls {m.group(1)}(), which does I/O or reads a clock")
    for b in breaches:
        print(b)
    if breaches:
        print(f"check-layers: {len(breaches)} breach(es) of the pure rooms ({', '.join(PURE + PURE_FILES)})", file=sys.stderr)
        return 1
    print(f"check-layers: {files} files of the pure rooms include and call nothing that does I/O")
    return 0


if __name__ == "__main__":
    sys.exit(main())
