#!/usr/bin/env bash
# The reconciler commands of the GitHub workflows, one mode each. The workflows post what this writes.
#
#   run.sh validate | pr-plan | apply | drift
#
# Environment: RECONCILER_DIR (default assistants.d), RECONCILER_TARGETS (globs separated by blanks),
# RECONCILER_NO_ENV / RECONCILER_FORCE / RECONCILER_PRUNE (true|false), RECONCILER_BASELINE (a git ref, pr-plan),
# RECONCILER_OUT (report folder), RECONCILER_DRIFT (drift: issue | pull-request), RECONCILER_GIT_TOKEN (drift
# pull-request: the token git pushes the branch with; never printed),
# GLORIA_API_TOKEN and GLORIA_API_URL, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY (set by GitHub).
# Outputs (to $GITHUB_OUTPUT): exitcode, report, plan; drift pull-request: adopted (true|false), branch, body.
set -uo pipefail

mode="${1:?usage: run.sh validate|pr-plan|apply|drift}"
dir="${RECONCILER_DIR:-assistants.d}"
out="${RECONCILER_OUT:-${RUNNER_TEMP:-/tmp}/reconciler}"
mkdir -p "$out"
report="$out/report.md"

# Split the targets on blanks and newlines into words, never expanding them: `*` is a glob for the
# reconciler's --target, not for the shell (which would turn it into the names of the files here).
read -r -d '' -a words <<< "${RECONCILER_TARGETS:-}" || true
targets=()
for target in "${words[@]}"; do targets+=(--target "$target"); done
prune=()
[ "${RECONCILER_PRUNE:-false}" = true ] && prune=(--prune)
force=()
[ "${RECONCILER_FORCE:-false}" = true ] && force=(--force)
baseline=()
[ -n "${RECONCILER_BASELINE:-}" ] && baseline=(--baseline "$RECONCILER_BASELINE")

output() { echo "$1=$2" >> "${GITHUB_OUTPUT:-/dev/null}"; }

# A code fence for the text in file $1: longer than its longest run of backticks. A fenced block ends only at a
# fence at least as long as the one that opened it (CommonMark), so no line of the text can close the block and
# forge what follows it in the comment; nothing else in a code block is markup.
fence_for() {
  local longest
  longest=$(LC_ALL=C awk '{
    while (match($0, /`+/)) { if (RLENGTH > n) n = RLENGTH; $0 = substr($0, RSTART + RLENGTH) }
  } END { print n + 0 }' "$1")
  local length=$((longest < 3 ? 3 : longest + 1))
  printf '%*s' "$length" '' | tr ' ' '`'
}

# Check the files: the problems as workflow annotations in the log, so that each shows on its line of the pull
# request (validate --format github); on failure, the same problems as text in $out/validate.txt, for the
# comment. Offline and quick, so invalid files are read a second time rather than parsed out of the annotations.
validate_files() {  # $@: more options for validate (--no-env)
  reconciler validate --dir "$dir" --format github "$@" && return 0
  reconciler validate --dir "$dir" "$@" > "$out/validate.txt" 2>&1
  return 1
}

validation_report() {  # $1: title, $2: file with the problems
  local fence
  fence=$(fence_for "$2")
  {
    echo "<!-- reconciler-plan -->"
    echo "### reconciler: $1"
    echo
    echo "${fence}text"
    cat "$2"
    # the closing fence on a line of its own, even after text without a final newline
    [ -n "$(tail -c 1 "$2")" ] && echo
    echo "$fence"
  } > "$report"
  output report "$report"
}

# Drift as a pull request: adopt the platform's values into the files, commit them on one branch, push it
# (force: the branch always holds one commit on top of the files as they are now). The pull request's body is
# the plan of what it adopts, then what adopt left alone (secrets to update by hand). Nothing adopted (only
# secrets drifted): adopted=false, and the workflow keeps the issue.
adopt_into_branch() {
  local branch=${RECONCILER_DRIFT_BRANCH:-reconciler/drift}  # one per account directory (drift.yml's matrix)
  if ! reconciler adopt --dir "$dir" "${targets[@]}" > "$out/adopt.txt" 2> "$out/adopt-notes.txt"; then
    cat "$out/adopt-notes.txt" >&2
    return 1
  fi
  if git -C "$dir" diff --quiet; then
    output adopted false
    return 0
  fi
  git -C "$dir" switch --quiet --force-create "$branch" || return 1
  git -C "$dir" add --update || return 1
  git -C "$dir" -c user.name="github-actions[bot]" \
    -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \
    commit --quiet --message "reconciler adopt" --message "$(cat "$out/adopt.txt")" || return 1
  push "$branch" || return 1
  {
    cat "$report"
    if [ -s "$out/adopt-notes.txt" ]; then
      local fence
      fence=$(fence_for "$out/adopt-notes.txt")
      echo
      echo "Left as they are (resolve them by hand):"
      echo
      echo "${fence}text"
      cat "$out/adopt-notes.txt"
      echo "$fence"
    fi
  } > "$out/pull-request.md"
  output adopted true
  output branch "$branch"
  output body "$out/pull-request.md"
}

# The token reaches git as a header in the environment (GIT_CONFIG_*), never on a command line or in .git/config.
push() {  # $1: branch
  if [ -n "${RECONCILER_GIT_TOKEN:-}" ]; then
    local basic
    basic=$(printf 'x-access-token:%s' "$RECONCILER_GIT_TOKEN" | base64 | tr -d '\n')
    GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="http.https://github.com/.extraheader" \
      GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $basic" \
      git -C "$dir" push --quiet --force origin "HEAD:refs/heads/$1"
  else
    git -C "$dir" push --quiet --force origin "HEAD:refs/heads/$1"
  fi
}

case "$mode" in
  validate)
    reconciler validate --dir "$dir" --no-env --format github
    ;;
  pr-plan)
    if [ "${RECONCILER_NO_ENV:-false}" = true ]; then
      # Pull requests from forks get no secrets: check the files offline and say so.
      if validate_files --no-env; then
        {
          echo "<!-- reconciler-plan -->"
          echo "### reconciler: files valid, no plan (pull request from a fork)"
          echo
          echo "Pull requests from forks get no secrets, so the files were validated offline with"
          echo "\`reconciler validate --no-env\` and no plan was made. A maintainer's branch will show the plan."
        } > "$report"
        output report "$report"
        output exitcode 0
        exit 0
      fi
      validation_report "invalid files (pull request from a fork: validated offline)" "$out/validate.txt"
      output exitcode 1
      exit 1
    fi
    if ! validate_files; then
      validation_report "invalid files, no plan" "$out/validate.txt"
      output exitcode 1
      exit 1
    fi
    reconciler plan --dir "$dir" "${targets[@]}" "${prune[@]}" "${baseline[@]}" --format markdown \
      --out "$out/plan.json" --detailed-exitcode > "$report" 2> "$out/plan-errors.txt"
    code=$?
    output exitcode "$code"
    if [ "$code" -eq 1 ]; then
      validation_report "plan failed" "$out/plan-errors.txt"
      exit 1
    fi
    output report "$report"
    output plan "$out/plan.json"
    exit 0
    ;;
  apply)
    reconciler apply --dir "$dir" "${targets[@]}" "${prune[@]}" "${force[@]}" --auto-approve \
      --summary "${GITHUB_STEP_SUMMARY:-$out/summary.md}"
    ;;
  drift)
    reconciler plan --dir "$dir" "${targets[@]}" "${prune[@]}" --format markdown --detailed-exitcode > "$report"
    code=$?
    output exitcode "$code"
    [ "$code" -eq 1 ] && exit 1
    output report "$report"
    if [ "$code" -eq 2 ] && [ "${RECONCILER_DRIFT:-issue}" = pull-request ]; then
      adopt_into_branch || exit 1
    fi
    exit 0
    ;;
  *)
    echo "run.sh: unknown mode '$mode' (validate, pr-plan, apply, drift)" >&2
    exit 1
    ;;
esac
