#!/usr/bin/env bash
# hack/check-tools.py, which CI runs before anything else, reads the commands a script runs through
# a small shell lexer: the words it must find and the words of quoted text it must not take for
# commands, nested command substitutions above all (a '$(' inside '$( )' once counted twice, and
# the rest of the file was read as code: "(no alias …)" in a description became the command 'no').
. "$(dirname "$0")/../lib.sh"

scan() {
	python3 - "$TOP/hack/check-tools.py" "$1" <<'PY'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("ct", sys.argv[1])
ct = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ct)
found = {}
ct.scan_shell(sys.argv[2], found, "t")
print(" ".join(sorted(found)))
PY
}

expect_eq "a plain pipeline" "grep sort" "$(scan 'grep x f | sort -u')"
expect_eq "words in double quotes are text" "expect_eq" "$(scan 'expect_eq "no (such) thing" y')"
expect_eq "a substitution inside a substitution, and text after it" "a b echo x" \
	"$(scan 'x "$(a $(b c) d)"
echo "(no alias of the other)" y')"
expect_eq "three deep, with quotes and braces between" "docker echo printf tr" \
	"$(scan 'echo "$(docker events $(printf -- "%s" $(tr a b <f)) --format '"'"'{{.x}}'"'"')"
echo "(64 characters)" done')"
expect_eq "arithmetic is not a command" "echo" "$(scan 'echo $(( (1+2) * 3 )) "(no)"')"
expect_eq "wrappers run the next word" "nohup setsid sleep" "$(scan 'setsid nohup sleep 1')"
expect_eq "a heredoc's body is not code when quoted" "cat" "$(scan $'cat <<\'X\'\nrm -rf /\nX\n')"
expect_eq "and is scanned for substitutions when not" "cat id" "$(scan $'cat <<X\n$(id -u) rm\nX\n')"
expect_eq "but an escaped one is text" "cat id" "$(scan $'cat <<X\n\\$(wrk -c 1) $(id -u)\nX\n')"

# And the tree as CI sees it.
out=$("$TOP/hack/check-tools.py" 2>&1)
rc=$?
expect_eq "hack/check-tools.py passes on this tree (exit $rc)" "" "$(grep -v '^check-tools: [0-9]* commands' <<<"$out")"
done_testing
