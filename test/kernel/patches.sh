#!/usr/bin/env bash
# Acceptance on real kernel code (needs the Debian kernel sources; CI runs it when they are there):
# for each tree, a git-initialised copy; for every file with a VRL001 finding, `patch
# --to-maintainers --fixes` writes a mail (To:/Cc: from the tree's get_maintainer.pl, a Fixes:
# line naming the copy's one commit) that must pass the tree's own `scripts/checkpatch.pl
# --strict` with 0 errors and 0 warnings, apply with `git am`, and leave no VRL001 in that file.
#
#   test/kernel/patches.sh                 # trees from scripts/kernel-trees.sh (6.12 and 6.1)
#   test/kernel/patches.sh TREE [TREE...]  # given trees
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
cli="node $here/dist/cli.js"
[ -f "$here/dist/cli.js" ] || { echo "patches: run npm run build first" >&2; exit 2; }
trees=("$@")
if [ ${#trees[@]} -eq 0 ]; then mapfile -t trees < <("$here/scripts/kernel-trees.sh"); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for tree in "${trees[@]}"; do
  name=$(basename "$tree")
  echo "== $name: git-initialised copy"
  copy="$work/$name"
  cp -r "$tree" "$copy"
  rm -f "$copy/.unpacked"
  # No automatic gc: the copy's 80,000 loose objects would start a detached gc after the commit
  # (and each git am), still writing to .git when the copy is removed.
  (cd "$copy" && git init -q && git config gc.auto 0 && git config maintenance.auto false \
    && git add -f -A . && git -c user.name=Base -c user.email=base@example.org commit -qm "$name" \
    && git config user.name "Virtio Race Lint Test" && git config user.email "vrl-test@example.org")
  mapfile -t files < <(cd "$copy" && $cli check --format json . | node -e '
    let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
      for (const f of [...new Set(JSON.parse(s).findings.filter(f => f.rule === "VRL001").map(f => f.file))]) console.log(f);
    });')
  [ ${#files[@]} -gt 0 ] || { echo "patches: no finding in $name" >&2; status=1; continue; }
  for f in "${files[@]}"; do
    mbox="$work/$name-$(echo "$f" | tr / _).patch"
    (cd "$copy" && $cli patch --to-maintainers --fixes "$f" -o "$mbox" 2>/dev/null)
    grep -q '^To: ' "$mbox" || { echo "FAIL $name $f: no To: from get_maintainer.pl"; status=1; continue; }
    grep -q '^Fixes: [0-9a-f]\{12\} ("' "$mbox" || { echo "FAIL $name $f: no Fixes: line"; status=1; continue; }
    # In the tree: checkpatch.pl looks the Fixes: commit up with git in its working directory.
    result=$(cd "$copy" && perl scripts/checkpatch.pl --strict "$mbox" | grep '^total:' || true)
    if [[ "$result" != "total: 0 errors, 0 warnings, 0 checks"* ]]; then
      echo "FAIL $name $f: checkpatch: $result"; (cd "$copy" && perl scripts/checkpatch.pl --strict "$mbox" | head -30); status=1; continue
    fi
    if ! (cd "$copy" && git am -q "$mbox"); then echo "FAIL $name $f: git am"; (cd "$copy" && git am --abort); status=1; continue; fi
    left=$(cd "$copy" && $cli check --format json "$f" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).findings.filter(f=>f.rule==="VRL001").length))')
    if [ "$left" != 0 ]; then echo "FAIL $name $f: $left finding(s) left after git am"; status=1; continue; fi
    echo "ok   $name $f: $result; git am applied; no VRL001 left"
  done
  rm -rf "$copy"
done
exit $status
