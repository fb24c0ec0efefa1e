#!/usr/bin/env bash
# Hostile specs repos are refused cleanly (escaping symlink, "..", ".git", submodule, huge blob,
# thousands of files), two writers racing on the notes ref lose no entry, and a note pushed from
# year 9999 neither freezes a commit's status nor survives the controller's next note.
source "$(dirname "$0")/../lib.sh"

A=$AURIGA_BIN
T=$TEST_TMP
BARE=$T/specs.git
export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@example.com GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@example.com
git init -q --bare "$BARE"
g() { git -C "$BARE" "$@"; }

ok_blob=$(echo 'kind: Deployment' | g hash-object -w --stdin)
# branch NAME TREE: a commit on its own branch whose tree is TREE.
branch() { g update-ref "refs/heads/$1" "$(echo "$1" | g commit-tree "$2")"; }
# tree_with LINE...: a tree "specs" holding a good file and the given mktree lines.
tree_with() {
	local inner
	inner=$( { printf '100644 blob %s\tgood.yaml\n' "$ok_blob"; [ $# -gt 0 ] && printf '%s\n' "$@"; } | g mktree --missing)
	printf '040000 tree %s\tspecs\n' "$inner" | g mktree
}
snapshot() {
	local st=$T/st-$1
	"$A" source --repo "$BARE" --ref "$1" --state-dir "$st" fetch >/dev/null 2>&1 || echo "fetch failed"
	"$A" source --repo "$BARE" --ref "$1" --state-dir "$st" snapshot --path specs 2>&1
	echo "rc=$?"
}

branch clean "$(tree_with)"
link=$(printf '../../../etc/passwd' | g hash-object -w --stdin)
branch symlink "$(tree_with "$(printf '120000 blob %s\tevil.yaml' "$link")")"
sub=$( (printf '100644 blob %s\tx.yaml\n' "$ok_blob") | g mktree)
branch dotdot "$(tree_with "$(printf '040000 tree %s\t..' "$sub")")"
branch dotgit "$(tree_with "$(printf '040000 tree %s\t.GIT' "$sub")")"
branch submodule "$(tree_with "$(printf '160000 commit %s\tmod' "$(echo 0123456789abcdef0123456789abcdef01234567)")")"
big=$(head -c $((3 * 1024 * 1024)) /dev/zero | tr '\0' 'a' | g hash-object -w --stdin)
branch huge "$(tree_with "$(printf '100644 blob %s\thuge.yaml' "$big")")"
many=$(for i in $(seq 1 3000); do printf '100644 blob %s\tf%04d.yaml\n' "$ok_blob" "$i"; done | g mktree)
branch many "$(printf '040000 tree %s\tspecs\n' "$many" | g mktree)"

# snapshot_says DESC BRANCH REGEX: what the snapshot of BRANCH prints (on one line) matches REGEX.
snapshot_says() {
	local out
	out=$(snapshot "$2")
	expect_match "$1" "$3" "$(echo $out)"
}
snapshot_says "a clean tree reads" clean "specs/good.yaml.*rc=0"
snapshot_says "an escaping symlink is refused" symlink "'specs/evil.yaml' is a symbolic link.*rc=1"
snapshot_says "a '..' path is refused" dotdot "'specs/\.\.': a path component named '\.\.' is refused.*rc=1"
snapshot_says "a '.git' path is refused" dotgit "component named '\.GIT' is refused.*rc=1"
snapshot_says "a submodule is refused" submodule "'specs/mod' is a submodule.*rc=1"
snapshot_says "a huge blob is refused" huge "specs/huge.yaml: 3145728 bytes, more than the limit.*rc=1"
snapshot_says "thousands of files are refused" many "more than 2000 YAML files.*rc=1"
out=$("$A" source --repo "$BARE" --ref clean --state-dir "$T/st-clean" snapshot --path ../x 2>&1)
expect_match "a '..' path prefix is refused" "component '\.\.' is refused" "$out"

# Two writers race on the notes ref, each through its own mirror, over file:// and git daemon.
W=$T/work
git init -q -b main "$W"
for i in $(seq 1 12); do echo "n: $i" >"$W/a.yaml"; git -C "$W" add -A; git -C "$W" commit -qm "c$i"; done
git -C "$W" push -q "$BARE" main
mapfile -t commits < <(git -C "$W" rev-list --reverse main)

race() {
	local url=$1 tag=$2 pids=() i
	for w in a b; do
		(
			"$A" source --repo "$url" --state-dir "$T/race-$tag-$w" fetch >/dev/null
			for i in $(seq 0 11); do
				# Writer a annotates even commits, b odd ones, and both the last commit.
				if [ $((i % 2)) -eq $([ $w = a ] && echo 0 || echo 1) ] || [ "$i" -eq 11 ]; then
					obs=$([ $w = a ] && echo 1000000000000 || echo 1500000000000)
					"$A" source --repo "$url" --state-dir "$T/race-$tag-$w" --notes-ref "refs/notes/$tag" \
						note --push --phase Healthy --summary "$w" --observed-at "$obs" \
						--deployment x=Healthy,1,1 "${commits[$i]}" || echo "writer $w failed on $i"
				fi
			done
		) >"$T/race-$tag-$w.log" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	local count bad=0
	count=$(g notes --ref="$tag" list | wc -l)
	expect_eq "$tag: no note lost (12 commits annotated)" 12 "$count"
	for i in $(seq 0 10); do
		want=$([ $((i % 2)) -eq 0 ] && echo a || echo b)
		line=$(g notes --ref="$tag" show "${commits[$i]}" 2>&1 | sed -n 1p)
		[ "$line" = "auriga: Healthy 1/1 ready, $want" ] || { bad=1; diag "commit $i: $line"; }
	done
	expect_eq "$tag: every note is its writer's" 0 "$bad"
	# Both wrote the last commit, each from no note: each merge keeps its own writer's note, so
	# the last push decides; the time a note claims (b's is later) does not.
	expect_match "$tag: on a commit both wrote, one writer's note stands whole" \
		"^auriga: Healthy 1/1 ready, [ab]$" "$(g notes --ref="$tag" show "${commits[11]}" | sed -n 1p)"
	expect_eq "$tag: no writer failed" "" "$(cat "$T/race-$tag-a.log" "$T/race-$tag-b.log")"
}
race "file://$BARE" race-file
GPORT=$(free_port)
git daemon --reuseaddr --listen=127.0.0.1 --port="$GPORT" --base-path="$T" --export-all \
	--enable=receive-pack "$T" >"$T/git-daemon.log" 2>&1 &
on_exit "kill $!"
if wait_for 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$GPORT"; then
	race "git://127.0.0.1:$GPORT/specs.git" race-daemon
else
	fail "git daemon did not start"
fi

# A note pushed by anyone from year 9999 on a commit the controller annotated: the controller's
# next note on that commit replaces it on the remote (the time a note claims decides nothing).
"$A" source --repo "file://$BARE" --state-dir "$T/hostile" fetch >/dev/null
"$A" source --repo "file://$BARE" --state-dir "$T/hostile" --notes-ref refs/notes/race-file note --push \
	--phase Failed --summary forged --observed-at 253402300799000 --deployment x=Failed,0,1 "${commits[4]}" ||
	fail "the forged note is pushed"
expect_eq "the forged note from year 9999 is on the remote" "auriga: Failed 0/1 ready, forged" \
	"$(g notes --ref=race-file show "${commits[4]}" | sed -n 1p)"
"$A" source --repo "file://$BARE" --state-dir "$T/race-file-a" --notes-ref refs/notes/race-file note --push \
	--phase Healthy --summary again --observed-at 1700000000000 --deployment x=Healthy,1,1 "${commits[4]}"
expect_eq "the controller's next note on that commit replaces the one from year 9999" \
	"auriga: Healthy 1/1 ready, again" "$(g notes --ref=race-file show "${commits[4]}" | sed -n 1p)"

# Signature checking on: a force push back to an older, validly signed commit is refused (the
# mirror keeps the head it had) unless the operator allows non-fast-forward moves; a key outside
# its valid-before window is refused.
SIG=$T/signed.git
SW=$T/signed-work
ssh-keygen -q -t ed25519 -N '' -C ci -f "$T/ci-key"
echo "ci@example namespaces=\"git\" $(cut -d' ' -f1,2 "$T/ci-key.pub")" >"$T/allowed"
echo "ci@example valid-before=\"20200101Z\" $(cut -d' ' -f1,2 "$T/ci-key.pub")" >"$T/allowed-expired"
git init -q -b main "$SW"
for i in 1 2; do
	printf 'apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: signed-%s}\nspec: {}\n' "$i" >"$SW/cluster.yaml"
	git -C "$SW" add -A
	git -C "$SW" -c gpg.format=ssh -c user.signingkey="$T/ci-key" commit -q -S -m "signed $i"
done
git init -q --bare "$SIG"
git -C "$SW" push -q "$SIG" main
old=$(git -C "$SW" rev-parse HEAD~1)
new=$(git -C "$SW" rev-parse HEAD)
sfetch() { "$A" source --repo "file://$SIG" --state-dir "$T/st-signed" --allowed-signers "$T/allowed" "$@" fetch 2>&1; }
expect_match "the signed head is taken" "^commit $new changed 1 forced 0 signer ci@example" "$(sfetch)"
git -C "$SIG" update-ref refs/heads/main "$old"
out=$(sfetch)
expect_match "a force push to an older signed commit is refused" \
	"moved from ${new:0:12} to ${old:0:12}, which does not descend from it: a non-fast-forward move is refused" "$out"
expect_eq "the refused fetch exits 1" 1 "$(sfetch >/dev/null; echo $?)"
expect_eq "the mirror keeps the head it had" "$new" "$(git -C "$T/st-signed/mirror.git" rev-parse refs/heads/main)"
expect_match "allow-non-fast-forward takes it" "^commit $old changed 1 forced 1 signer ci@example" \
	"$(sfetch --allow-non-fast-forward)"
out=$("$A" source --repo "file://$SIG" --state-dir "$T/st-expired" --allowed-signers "$T/allowed-expired" fetch 2>&1)
expect_match "a key past its valid-before is refused" "is not valid at .*\(valid-before 2020-01-01T00:00:00Z\)" "$out"

# The daemon: the refusal is in the status (source.lastError, also in the note on the commit it
# stays on), the log and auriga_errors_total{kind="git-refused"}.
git -C "$SIG" update-ref refs/heads/main "$new"
port=$(free_port)
"$A" run --repo "file://$SIG" --state-dir "$T/st-daemon" --instance "it-hostile-$$" --extra-labels "$TEST_LABEL" \
	--allowed-signers "$T/allowed" --listen "127.0.0.1:$port" --poll-interval 1s >"$T/daemon.log" 2>&1 &
dpid=$!
on_exit "kill -TERM $dpid 2>/dev/null; wait $dpid 2>/dev/null"
status_json() { curl -sf --max-time 5 "http://127.0.0.1:$port/api/v1/status"; }
status_field() { status_json | python3 -c 'import json, sys
d = json.load(sys.stdin)
v = d
for k in sys.argv[1].split("."):
    v = v.get(k, {}) if isinstance(v, dict) else {}
print(v if isinstance(v, str) else "")' "$1"; }
field_is() { [ "$(status_field "$1")" = "$2" ]; }
field_has() { [[ $(status_field "$1") == *"$2"* ]]; }
check "the daemon takes the signed head" wait_for 60 field_is commit "$new"
git -C "$SIG" update-ref refs/heads/main "$old"
check "the daemon's status says the force push is refused" \
	wait_for 60 field_has source.lastError "git: 'refs/heads/main' of 'file://$SIG' moved from ${new:0:12} to ${old:0:12}"
expect_eq "and it stays on the head it had" "$new" "$(status_field commit)"
check "the log says so" wait_for 10 grep -q 'msg="the branch head is refused".*non-fast-forward move is refused' "$T/daemon.log"
gitrefused() { curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" | grep -q '^auriga_errors_total{kind="git-refused"} [1-9]'; }
check "auriga_errors_total counts it" wait_for 10 gitrefused
note_says() { git -C "$SIG" notes --ref=auriga show "$new" 2>/dev/null | grep -q "non-fast-forward move is refused"; }
check "the note on the commit it stays on says so" wait_for 60 note_says
old_refused() { git -C "$SIG" notes --ref=auriga show "$old" 2>/dev/null | grep -q "^auriga: Refused"; }
check "the refused head has a note of its own: Refused" wait_for 60 old_refused
check "which gives the refusal" grep -q "non-fast-forward move is refused" <<<"$(git -C "$SIG" notes --ref=auriga show "$old")"
sleep 3
expect_eq "the refusal is logged once over the fetches retried since" 1 \
	"$(grep -c 'msg="the branch head is refused"' "$T/daemon.log")"

done_testing
