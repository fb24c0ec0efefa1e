#!/usr/bin/env bash
# The Cluster's status.notesRef and status.push decide where the status note of a commit goes, for
# `auriga apply` and for `auriga run` alike, commit by commit: a custom ref gets the note and the
# default ref none; with push false the note stays in auriga's mirror and the remote has none; a
# Cluster that says nothing leaves it to the operator's --notes-ref. Read back with plain git.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

need_images v1
specs_repo

# write_specs DEPLOYMENT STATUS: the Cluster with STATUS as its status block ("" for none) and one
# deployment of one demo node (node_yaml).
write_specs() {
	rm -f "$WORK"/*.yaml
	{
		printf 'apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: it-notes}\nspec:\n'
		printf '  roleOrder: [slim]\n'
		[ -n "$2" ] && printf '  status: %s\n' "$2"
	} >"$WORK/cluster.yaml"
	node_yaml "$1" >"$WORK/$1.yaml"
}

# note GITDIR REF COMMIT: the note on COMMIT under refs/notes/REF in GITDIR (fails when none).
note() { git --git-dir "$1" notes --ref "$2" show "$3" 2>/dev/null; }
# no_note GITDIR COMMIT: no ref under refs/notes/ in GITDIR has a note on COMMIT.
no_note() {
	local ref
	for ref in $(git --git-dir "$1" for-each-ref --format='%(refname)' refs/notes/); do
		if git --git-dir "$1" notes --ref "$ref" show "$2" >/dev/null 2>&1; then
			diag "$1 has a note on ${2:0:12} under $ref"
			return 1
		fi
	done
	return 0
}
# healthy_note GITDIR REF COMMIT: the note is there and says the commit is healthy.
healthy_note() { note "$@" | grep -q '^auriga: Healthy'; }

# --- auriga apply ---------------------------------------------------------------------------
ASTATE=$TEST_TMP/apply-state
apply() {
	"$AURIGA_BIN" apply --instance "it-notes-a-$$" --state-dir "$ASTATE" --label "$TEST_LABEL" \
		--timeout-total 90 --repo "$REMOTE" --ref main "$@" >"$TEST_TMP/apply.out" 2>"$TEST_TMP/apply.err"
	local rc=$?
	[ "$rc" = 0 ] || tail -n 5 "$TEST_TMP/apply.err" | while read -r l; do diag "$l"; done
	return "$rc"
}

write_specs nsa$$ '{notesRef: refs/notes/custom}'
a1=$(commit "apply: notes under refs/notes/custom")
check "apply converges on the commit whose Cluster names refs/notes/custom" apply
check "apply: the remote has the note under refs/notes/custom" healthy_note "$REMOTE" custom "$a1"
check "apply: the remote has no note under refs/notes/auriga" test -z "$(note "$REMOTE" auriga "$a1")"

write_specs nsa$$ '{push: false}'
a2=$(commit "apply: notes not pushed")
check "apply converges on the commit whose Cluster says push: false" apply
check "apply: the note is in the local mirror (refs/notes/auriga)" healthy_note "$ASTATE/mirror.git" auriga "$a2"
check "apply: the remote has no note on that commit, under any ref" no_note "$REMOTE" "$a2"

write_specs nsa$$ ''
a3=$(commit "apply: the Cluster says nothing about notes")
check "apply converges with --notes-ref refs/notes/ops" apply --notes-ref refs/notes/ops
check "apply: a Cluster that says nothing leaves the ref to --notes-ref" healthy_note "$REMOTE" ops "$a3"
check "apply: and not under refs/notes/auriga" test -z "$(note "$REMOTE" auriga "$a3")"

# --- auriga run -----------------------------------------------------------------------------
RSTATE=$TEST_TMP/run-state
write_specs nsr$$ '{notesRef: refs/notes/custom}'
r1=$(commit "run: notes under refs/notes/custom")
run_start "$TEST_TMP/run.log" --repo "$REMOTE" --state-dir "$RSTATE" --instance "it-notes-r-$$" \
	--poll-interval 1s --notes-ref refs/notes/ops --listen "127.0.0.1:$(free_port)"

await "run: the remote gets the Healthy note under refs/notes/custom" 90 healthy_note "$REMOTE" custom "$r1"
check "run: the remote has no note under refs/notes/auriga" test -z "$(note "$REMOTE" auriga "$r1")"
check "run: nor under the operator's refs/notes/ops" test -z "$(note "$REMOTE" ops "$r1")"

write_specs nsr$$ '{push: false}'
r2=$(commit "run: notes not pushed")
await "run: the note of the push: false commit is written in the local mirror" 90 \
	healthy_note "$RSTATE/mirror.git" ops "$r2"

# The worker handles notes in order: once the next commit's note is on the remote, every note
# of r2 was handled, so a push of it would be there too. That next commit pushes to another ref:
# notes are one tree per ref, and the next push of refs/notes/ops carries r2's local note along.
write_specs nsr$$ '{notesRef: refs/notes/custom}'
r3=$(commit "run: notes under refs/notes/custom again")
await "run: the next commit's note is pushed under refs/notes/custom" 90 healthy_note "$REMOTE" custom "$r3"
check "run: the push: false commit has no note on the remote, under any ref" no_note "$REMOTE" "$r2"

write_specs nsr$$ ''
r4=$(commit "run: the Cluster says nothing about notes")
await "run: a Cluster that says nothing leaves the ref to --notes-ref, pushed" 90 healthy_note "$REMOTE" ops "$r4"
check "run: that note is not under the previous commit's refs/notes/custom" test -z "$(note "$REMOTE" custom "$r4")"

run_stop "SIGTERM stops run with status 0"

done_testing
