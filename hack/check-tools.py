#!/usr/bin/python3
"""Lists the external commands the project's scripts, tests and benchmarks run, and fails naming
every one that no Debian package installed by hack/deps.sh provides.

A command counts as provided when a file bin/NAME or sbin/NAME belongs to a package that
hack/deps.sh lists, to a package those depend on (they are installed with it), or to a package of
Debian's "required" priority (on every Debian system). Anything else (a tool installed by hand, a
pip or npm install, a binary under /usr/local) is reported with the files that call it, so a tool
that one machine happens to have cannot hide until a fresh machine fails.

Where commands are found: shell scripts (*.sh, *.bash, files with a shell #! line) under hack/,
tests/ and .ci/, parsed with a small shell lexer (quotes, comments, $( ), backquotes, heredocs,
case patterns, functions); Makefile recipes; commands C tests run through test_sh(), popen() and
argv arrays; and subprocess calls in Python heredocs.

  hack/check-tools.py           check; exit 1 naming what is missing
  hack/check-tools.py --list    print every command with its package and the first file using it
"""
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KEYWORDS = {
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "in", "case",
    "esac", "select", "function", "time", "!", "{", "}", "[[", "]]", "coproc",
}
BUILTINS = {
    ".", ":", "[", "alias", "bg", "bind", "break", "builtin", "caller", "cd", "command", "compgen",
    "complete", "continue", "declare", "dirs", "disown", "echo", "enable", "eval", "exec", "exit",
    "export", "false", "fc", "fg", "getopts", "hash", "help", "history", "jobs", "kill", "let",
    "local", "logout", "mapfile", "popd", "printf", "pushd", "pwd", "read", "readarray",
    "readonly", "return", "set", "shift", "shopt", "source", "suspend", "test", "times", "trap",
    "true", "type", "typeset", "ulimit", "umask", "unalias", "unset", "wait",
}
# Commands that run the command after their options: the wrapper is a command, and so is the next.
WRAPPERS = {"sudo": 0, "nohup": 0, "setsid": 0, "exec": 0, "command": 0, "env": 0, "xargs": 0,
            "timeout": 1, "nice": 0, "stdbuf": 0, "chroot": 1, "unshare": 0,
            "nsenter": 0, "valgrind": 0, "hyperfine": None, "strace": 0, "ionice": 0}
ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


class Lexer:
    """Splits shell source into words and operators; command substitutions are lexed apart."""

    OPS = ["&&", "||", ";;&", ";;", ";&", "|&", "<<<", "<<-", "<<", ">>", "&>>", "&>", ">&", "<&",
           ">|", "<>", ";", "&", "|", "(", ")", "<", ">"]

    def __init__(self, src):
        self.s = src
        self.i = 0
        self.subs = []        # bodies of $( ), ` ` and <( ) to scan as programs of their own
        self.heredocs = []    # (body, quoted, command) for the caller
        self.pending = []     # heredoc delimiters waiting for the end of the line

    def skip_balanced(self, open_s, close_s):
        """From just after open_s: returns the text up to the matching close_s (quotes honoured)."""
        depth, start, s = 1, self.i, self.s
        while self.i < len(s):
            c = s[self.i]
            if c == "\\":
                self.i += 2
                continue
            if c == "'" and open_s != "((":
                j = s.find("'", self.i + 1)
                self.i = len(s) if j < 0 else j + 1
                continue
            if c == '"':
                self.read_dquote()
                continue
            if s.startswith(close_s, self.i):
                depth -= 1
                if depth == 0:
                    body = s[start:self.i]
                    self.i += len(close_s)
                    return body
                self.i += len(close_s)
                continue
            if s.startswith(open_s, self.i):
                depth += 1
                self.i += len(open_s)
                continue
            if open_s == "$(" and c == "(":
                depth += 1
            self.i += 1
        return s[start:]

    def read_dquote(self):
        """From a '"': the literal text, with command substitutions inside recorded."""
        s, out = self.s, []
        self.i += 1
        while self.i < len(s) and s[self.i] != '"':
            c = s[self.i]
            if c == "\\":
                out.append(s[self.i + 1:self.i + 2])
                self.i += 2
            elif s.startswith("$((", self.i):
                self.i += 3
                self.skip_balanced("((", "))")
                out.append("$")
            elif s.startswith("$(", self.i):
                self.i += 2
                self.subs.append(self.skip_balanced("$(", ")"))
                out.append("$")
            elif c == "`":
                j = s.find("`", self.i + 1)
                self.subs.append(s[self.i + 1:j if j > 0 else len(s)])
                self.i = len(s) if j < 0 else j + 1
                out.append("$")
            else:
                out.append(c)
                self.i += 1
        self.i += 1
        return "".join(out)

    def read_heredocs(self, cmd):
        """At the start of a line: the bodies of the heredocs opened on the line before."""
        for delim, strip, quoted in self.pending:
            lines = []
            while self.i < len(self.s):
                j = self.s.find("\n", self.i)
                line = self.s[self.i:j if j >= 0 else len(self.s)]
                self.i = len(self.s) if j < 0 else j + 1
                if (line.lstrip("\t") if strip else line) == delim:
                    break
                lines.append(line)
            self.heredocs.append(("\n".join(lines), quoted, cmd))
        self.pending = []

    def tokens(self):
        """Yields ("w", literal, dynamic) for words and ("o", op) for operators and newlines."""
        s = self.s
        cmd = None
        while self.i < len(s):
            c = s[self.i]
            if c == "\n":
                self.i += 1
                if self.pending:
                    self.read_heredocs(cmd)
                yield ("o", "\n")
                continue
            if c in " \t":
                self.i += 1
                continue
            if c == "\\" and s.startswith("\\\n", self.i):
                self.i += 2
                continue
            if c == "#":
                j = s.find("\n", self.i)
                self.i = len(s) if j < 0 else j
                continue
            if s.startswith("((", self.i):
                self.i += 2
                self.skip_balanced("((", "))")
                yield ("w", "((", True)
                continue
            if s[self.i] in "<>" and s.startswith("(", self.i + 1):
                self.i += 2
                self.subs.append(self.skip_balanced("$(", ")"))
                yield ("w", "<(", True)
                continue
            op = next((o for o in self.OPS if s.startswith(o, self.i)), None)
            if op:
                self.i += len(op)
                if op in ("<<", "<<-"):
                    while self.i < len(s) and s[self.i] in " \t":
                        self.i += 1
                    w, dyn, quoted = self.read_word()
                    self.pending.append((w, op == "<<-", quoted))
                    continue
                yield ("o", op)
                continue
            w, dyn, quoted = self.read_word()
            if w == "" and not quoted and not dyn:
                self.i += 1
                continue
            # A file descriptor number right before a redirection belongs to it.
            if w.isdigit() and self.i < len(s) and s[self.i] in "<>":
                continue
            cmd = w
            yield ("w", w, dyn)

    def read_word(self):
        s, out, dyn, quoted = self.s, [], False, False
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\n;&|<>()":
                break
            if c == "\\":
                out.append(s[self.i + 1:self.i + 2])
                self.i += 2
            elif c == "'":
                j = s.find("'", self.i + 1)
                out.append(s[self.i + 1:j if j > 0 else len(s)])
                self.i = len(s) if j < 0 else j + 1
                quoted = True
            elif c == '"':
                text = self.read_dquote()
                dyn = dyn or "$" in text
                out.append(text)
                quoted = True
            elif s.startswith("$((", self.i):
                self.i += 3
                self.skip_balanced("((", "))")
                dyn = True
            elif s.startswith("$(", self.i):
                self.i += 2
                self.subs.append(self.skip_balanced("$(", ")"))
                dyn = True
            elif s.startswith("${", self.i):
                self.i += 2
                self.skip_balanced("${", "}")
                dyn = True
            elif c == "$":
                dyn = True
                self.i += 1
                out.append("$")
            elif c == "`":
                j = s.find("`", self.i + 1)
                self.subs.append(s[self.i + 1:j if j > 0 else len(s)])
                self.i = len(s) if j < 0 else j + 1
                dyn = True
            else:
                out.append(c)
                self.i += 1
        return "".join(out), dyn, quoted


def functions_in(src):
    return set(re.findall(r"(?m)^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)\s*\{?", src))


PY_CALL = re.compile(r"subprocess\.\w+\(\s*\[\s*[\"']([\w.+-]+)[\"']")


def scan_shell(src, found, where, depth=0):
    """Adds every command at a command position of src to found[name] (a list of places)."""
    if depth > 20:
        return
    lx = Lexer(src)
    toks = list(lx.tokens())
    cmd_pos, mode, wrap, skip_next, i = True, None, None, False, 0
    while i < len(toks):
        t = toks[i]
        prev = toks[i - 1] if i > 0 else None
        i += 1
        if t[0] == "o":
            op = t[1]
            # NAME=( ... ): an array's words, wherever the assignment stands.
            if op == "(" and mode is None and prev and prev[0] == "w" and ASSIGN.match(prev[1]) \
                    and prev[1].endswith("="):
                mode = "array"
                continue
            if mode == "array":
                if op == ")":
                    mode = None
                continue
            if mode == "case-pattern":
                if op == ")":
                    mode, cmd_pos = None, True
                continue
            if op in ("<", ">", ">>", "<<<", "&>", "&>>", ">&", "<&", ">|", "<>"):
                skip_next = True
                continue
            if op in (";;", ";&", ";;&"):
                mode = "case-pattern"
                continue
            cmd_pos, wrap = True, None
            continue
        w, dyn = t[1], t[2]
        if skip_next:
            skip_next = False
            continue
        if mode == "array":
            continue
        if mode == "case-pattern":
            if w == "esac":
                mode, cmd_pos = None, False
            continue
        if mode == "case-word":
            if w == "in":
                mode = "case-pattern"
            continue
        if mode == "for":
            if w == "do":
                mode, cmd_pos = None, True
            continue
        if mode == "dbracket":
            if w == "]]":
                mode, cmd_pos = None, False
            continue
        if mode == "funcname":
            mode, cmd_pos = None, False
            continue
        if wrap is not None:
            name, skip = wrap
            if w.startswith("-") or (name == "env" and ASSIGN.match(w)):
                continue
            if skip:
                wrap = (name, skip - 1)
                continue
            wrap = None
            cmd_pos = True
        if not cmd_pos:
            continue
        if not dyn and w in KEYWORDS:
            if w in ("for", "select"):
                mode = "for"
            elif w == "case":
                mode = "case-word"
            elif w == "[[":
                mode = "dbracket"
            elif w == "function":
                mode = "funcname"
            elif w in ("fi", "done", "esac", "}"):
                cmd_pos = False
            continue
        if ASSIGN.match(w):
            if i < len(toks) and toks[i] == ("o", "("):
                mode = "array"
                i += 1
            continue
        if w == "((":
            cmd_pos = False
            continue
        if not dyn and w.startswith("/") and re.match(r"^/(usr/)?s?bin/[\w.+-]+$", w):
            found.setdefault(w, []).append(where)
            cmd_pos = False
            continue
        if dyn or "/" in w or not NAME.match(w):
            cmd_pos = False
            continue
        # A function definition: name ( )
        if i + 1 < len(toks) and toks[i] == ("o", "(") and toks[i + 1] == ("o", ")"):
            i += 2
            continue
        found.setdefault(w, []).append(where)
        cmd_pos = False
        if w in WRAPPERS and WRAPPERS[w] is not None:
            wrap = (w, WRAPPERS[w])
    for body in lx.subs:
        scan_shell(body, found, where, depth + 1)
    for body, quoted, cmd in lx.heredocs:
        if cmd and cmd.startswith("python"):
            for name in PY_CALL.findall(body):
                found.setdefault(name, []).append(where)
        elif not quoted:
            inner = Lexer(body)
            # Only the substitutions of an unquoted heredoc run.
            while inner.i < len(body):
                if body[inner.i] == "\\":
                    inner.i += 2    # an escaped character: '\$(' is text
                elif body.startswith("$(", inner.i) and not body.startswith("$((", inner.i):
                    inner.i += 2
                    inner.subs.append(inner.skip_balanced("$(", ")"))
                else:
                    inner.i += 1
            for sub in inner.subs:
                scan_shell(sub, found, where, depth + 1)


C_STR = r'"(?:[^"\\\n]|\\.)*"'


def c_literals(text):
    """The concatenated string literals at the start of text (a C argument list), unescaped."""
    parts = re.findall(C_STR, text.split(";", 1)[0])
    out = "".join(p[1:-1] for p in parts)
    out = out.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")
    return re.sub(r"%[-0-9.lz]*[sdluzx]", "X", out).replace("%%", "%")


def scan_c(src, found, where):
    for m in re.finditer(r"\b(test_sh|popen)\s*\(", src):
        args = src[m.end():m.end() + 2000]
        if m.group(1) == "popen":
            args = args.split(",", 1)[0]
        if m.group(1) == "test_sh":
            # test_sh(out, size, fmt, ...): the literals after the second comma.
            parts = args.split(",", 2)
            if len(parts) < 3:
                continue
            args = parts[2]
        scan_shell(c_literals(args), found, where)
    for m in re.finditer(r"snprintf\(\s*cmd\s*,\s*sizeof\(cmd\)\s*,", src):
        scan_shell(c_literals(src[m.end():m.end() + 2000]), found, where)
    for m in re.finditer(r"argv\w*\s*(?:\[\s*\w*\s*\])?\s*=\s*\{\s*(?:\(char \*\))?\"([\w.+-]+)\"", src):
        found.setdefault(m.group(1), []).append(where)
    for m in re.finditer(r"argv\w*\[0\]\s*=\s*(?:\(char \*\))?\"([\w.+-]+)\"", src):
        found.setdefault(m.group(1), []).append(where)


def scan_makefile(src, found, where):
    src = src.replace("\\\n", " ")
    for var, default in re.findall(r"(?m)^(CC|PKG_CONFIG)\s*\?=\s*(\S+)", src):
        found.setdefault(default, []).append(where)
    for line in src.splitlines():
        if not line.startswith("\t"):
            continue
        line = line.lstrip("\t").lstrip("@-+")
        line = line.replace("$(MAKE)", "make").replace("$$", "$")
        while True:
            # Make's variables and functions, innermost first.
            line2 = re.sub(r"\$\([^()]*\)", "X/", line)
            if line2 == line:
                break
            line = line2
        scan_shell(line, found, where)


def is_shell(path):
    if path.endswith((".sh", ".bash")):
        return True
    try:
        with open(path, "rb") as f:
            first = f.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and (b"bash" in first or b"/sh" in first)


def project_files():
    out = []
    for root in ("hack", "tests", ".ci"):
        for dirpath, dirnames, files in os.walk(os.path.join(TOP, root)):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "node_modules"]
            for f in files:
                out.append(os.path.join(dirpath, f))
    for f in ("Makefile", os.path.join("hack", "demo-node", "Makefile")):
        if os.path.exists(os.path.join(TOP, f)):
            out.append(os.path.join(TOP, f))
    return sorted(set(out))


def deps_packages():
    text = open(os.path.join(TOP, "hack", "deps.sh")).read()
    m = re.search(r"(?s)pkgs=\((.*?)\n\)", text)
    pkgs = set()
    for line in m.group(1).splitlines():
        line = line.split("#", 1)[0]
        pkgs.update(line.split())
    return pkgs


def installed():
    """name -> (priority, essential, [dependency names]) for every installed package."""
    out = subprocess.run(["dpkg-query", "-W", "-f",
                          "${Package}\t${Status}\t${Priority}\t${Essential}\t${Pre-Depends}, ${Depends}\n"],
                         capture_output=True, text=True, check=True).stdout
    db = {}
    for line in out.splitlines():
        name, status, prio, ess, deps = (line.split("\t") + [""] * 5)[:5]
        if "installed" not in status.split()[-1:]:
            continue
        names = []
        for alt in deps.split(","):
            for a in alt.split("|"):
                a = a.strip().split(" ", 1)[0].split(":", 1)[0]
                if a:
                    names.append(a)
        db[name.split(":", 1)[0]] = (prio, ess == "yes", names)
    return db


def providers(cmds):
    """cmd -> packages that own a bin/cmd or sbin/cmd file (or the file an absolute name gives)."""
    pats = [c if c.startswith("/") else "bin/" + c for c in cmds]
    r = subprocess.run(["dpkg-query", "-S"] + pats, capture_output=True, text=True)
    by_base = {}
    for line in r.stdout.splitlines():
        owners, path = line.split(": ", 1)
        if not re.search(r"/s?bin/[^/]+$", path):
            continue
        for p in owners.split(","):
            by_base.setdefault(path, set()).add(p.strip().split(":", 1)[0])
    out = {}
    for c in cmds:
        pkgs = set()
        for path, owners in by_base.items():
            if (c.startswith("/") and path == c) or (not c.startswith("/") and os.path.basename(path) == c):
                pkgs |= owners
        # Files installed by alternatives (awk, editor, ...) belong to no package: follow the link.
        if not pkgs:
            for d in (("",) if c.startswith("/") else ("/usr/bin", "/bin", "/usr/sbin", "/sbin")):
                p = c if c.startswith("/") else os.path.join(d, c)
                if os.path.islink(p):
                    q = subprocess.run(["dpkg-query", "-S", os.path.realpath(p)], capture_output=True, text=True)
                    for line in q.stdout.splitlines():
                        for o in line.split(": ", 1)[0].split(","):
                            pkgs.add(o.strip().split(":", 1)[0])
        out[c] = pkgs
    return out


def main():
    listing = "--list" in sys.argv[1:]
    found = {}
    funcs = set()
    files = project_files()
    texts = {}
    for f in files:
        try:
            texts[f] = open(f, encoding="utf-8", errors="replace").read()
        except OSError:
            continue
    for f, src in texts.items():
        if is_shell(f):
            funcs |= functions_in(src)
    for f, src in texts.items():
        rel = os.path.relpath(f, TOP)
        if os.path.basename(f) == "Makefile":
            scan_makefile(src, found, rel)
        elif is_shell(f):
            scan_shell(src, found, rel)
        elif f.endswith(".c"):
            scan_c(src, found, rel)
    for name in list(found):
        if name in BUILTINS or name in KEYWORDS or name in funcs:
            del found[name]
    wanted = deps_packages()
    db = installed()
    # What hack/deps.sh installs: its packages and everything they pull in.
    closure, todo = set(), [p for p in wanted if p in db]
    while todo:
        p = todo.pop()
        if p in closure:
            continue
        closure.add(p)
        todo.extend(d for d in db.get(p, ("", False, []))[2] if d in db)
    base = {p for p, (prio, ess, _) in db.items() if prio == "required" or ess}
    missing_pkgs = sorted(p for p in wanted if p not in db)
    bad = []
    prov = providers(sorted(found))
    for name in sorted(found):
        pk = prov[name]
        ok = sorted(pk & (closure | base))
        how = ("deps.sh: " + ",".join(sorted(pk & wanted))) if pk & wanted else \
              ("with deps.sh: " + ",".join(sorted(pk & closure))) if pk & closure else \
              ("base system: " + ",".join(sorted(pk & base))) if pk & base else None
        if listing:
            print("%-22s %-40s %s" % (name, how or "NOT PROVIDED", found[name][0]))
        if not ok:
            bad.append(name)
    if missing_pkgs:
        print("check-tools: hack/deps.sh lists packages that are not installed (run it first): %s"
              % " ".join(missing_pkgs), file=sys.stderr)
    for name in bad:
        places = sorted(set(found[name]))
        print("check-tools: '%s' is run by %s%s, and no package that hack/deps.sh installs provides it"
              % (name, ", ".join(places[:4]), " and %d more" % (len(places) - 4) if len(places) > 4 else ""),
              file=sys.stderr)
    if bad or missing_pkgs:
        return 1
    print("check-tools: %d commands, each provided by a package hack/deps.sh installs or the base system"
          % len(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
