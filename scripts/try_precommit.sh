#!/usr/bin/env bash
# Prove the pre-commit hook end to end, by hand: `pre-commit try-repo` installs convguard from this
# working tree into a fresh hook environment (pip, so it needs the package index and takes a minute)
# and runs `convguard check` on a clean and on a bad file of a scratch project.
#
# Usage: scripts/try_precommit.sh            (PRE_COMMIT=... to choose the pre-commit command)
# Exit 0 when the hook passes the clean file and fails the bad one.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${PRE_COMMIT:-}" ]; then
  if command -v pre-commit >/dev/null 2>&1; then
    PRE_COMMIT=pre-commit
  elif python3 -c "import pre_commit" >/dev/null 2>&1; then
    PRE_COMMIT="python3 -m pre_commit"
  else
    echo "error: pre-commit not found (pip install pre-commit, or set PRE_COMMIT=...)" >&2
    exit 2
  fi
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export PRE_COMMIT_HOME="$WORK/cache"
export GIT_AUTHOR_NAME=convguard GIT_AUTHOR_EMAIL=convguard@example.invalid
export GIT_COMMITTER_NAME=convguard GIT_COMMITTER_EMAIL=convguard@example.invalid

# try-repo snapshots staged and modified tracked files but not untracked ones, so commit a copy of
# the whole working tree (tracked and untracked, minus what .gitignore excludes) in a repo of its own.
HOOK_REPO="$WORK/hook-repo"
mkdir -p "$HOOK_REPO"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) |
  while IFS= read -r -d '' file; do
    if [ -f "$ROOT/$file" ]; then
      mkdir -p "$HOOK_REPO/$(dirname "$file")"
      cp -p "$ROOT/$file" "$HOOK_REPO/$file"
    fi
  done
if [ ! -f "$HOOK_REPO/README.md" ]; then
  # pyproject.toml names README.md as the long description: the build fails without it.
  echo "warning: README.md is missing from the working tree; using a stub in the snapshot" >&2
  echo "# convguard" > "$HOOK_REPO/README.md"
fi
git -C "$HOOK_REPO" init -q
git -C "$HOOK_REPO" add -A
git -C "$HOOK_REPO" commit -q -m "snapshot of the convguard working tree"

PROJECT="$WORK/project"
mkdir -p "$PROJECT"
git -C "$PROJECT" init -q
cat > "$PROJECT/clean.sql" <<'SQL'
SELECT l.id, l."appointmentBookedAt"
FROM "Lead" l
WHERE l."clientId" = $1;
SQL
cat > "$PROJECT/bad.sql" <<'SQL'
SELECT d.id
FROM "AIDraft" d
WHERE d."updatedAt" >= $1::timestamp
  AND d."updatedAt" > ($2 - ($3 * interval '1 day'));
SQL
git -C "$PROJECT" add clean.sql bad.sql

status=0
cd "$PROJECT"
echo "== clean.sql (expect Passed)"
if $PRE_COMMIT try-repo "$HOOK_REPO" convguard --files clean.sql; then
  echo "OK: the hook passed the clean file"
else
  echo "FAIL: the hook failed the clean file"; status=1
fi
echo "== bad.sql (expect Failed, with findings)"
if $PRE_COMMIT try-repo "$HOOK_REPO" convguard --files bad.sql 2>&1 | tee "$WORK/bad.log"; then
  echo "FAIL: the hook passed the bad file"; status=1
elif grep -q "^bad.sql:[0-9]*:[0-9]*: CG" "$WORK/bad.log"; then
  echo "OK: the hook failed the bad file with findings"
else
  echo "FAIL: the hook failed on the bad file without reporting findings"; status=1
fi
exit $status
