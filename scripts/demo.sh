#!/usr/bin/env bash
# The demo: copy example-evals/ to a temporary folder, make it a git repository
# with one commit (every commit is a dataset version), and run the evals there.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/gitevals-demo.XXXXXX")"
cp -R "$here/example-evals/." "$work/"
cd "$work"

# A run's exit 1 is its verdict (a gate failed, printed just above): the demo
# shows it and goes on. Any other failure is a broken demo and stops it.
verdict() {
    local status=0
    "$@" || status=$?
    if [ "$status" -eq 1 ]; then echo "(exit 1: a gate failed, as shown above)"; elif [ "$status" -ne 0 ]; then exit "$status"; fi
}
git init --quiet
git add --all
git -c user.name="gitevals demo" -c user.email="demo@example.invalid" commit --quiet -m "Example support-bot evals"

echo "== gitevals dataset list"
gitevals dataset list
echo
echo "== gitevals run support-qa"
verdict gitevals run support-qa
echo
echo "== a change to the agent: it learns that \"money back\" means a refund"
sed -i.bak 's/("refund", "return")/("refund", "return", "money back")/' support_bot/agent.py && rm support_bot/agent.py.bak
git -c user.name="gitevals demo" -c user.email="demo@example.invalid" commit --quiet -am "Refunds: understand 'money back'"
git log --oneline | cat
echo
echo "== gitevals run support-qa --baseline HEAD~1   (run again, then compare with the run made at the previous commit)"
verdict gitevals run support-qa --baseline HEAD~1
echo
echo "== gitevals run support-tools   (a tool-using agent: its answers and the tools it called)"
verdict gitevals run support-tools
echo
echo "== gitevals run returns   (a workflow: its decision, single steps, and the order of the steps)"
verdict gitevals run returns
echo
echo "== gitevals runs list"
gitevals runs list
echo
echo "The demo project is in $work"
echo "Its results are in $work/runs/; try: gitevals -C $work runs show returns"
echo "or: gitevals -C $work compare --eval support-qa --format markdown"
