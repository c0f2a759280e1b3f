#!/bin/sh
# A bare repository whose pushes berth checks and applies:
#   pre-receive  rejects a push to main whose config is invalid, whose
#                servers cannot be read, or whose plan has blocked changes;
#   post-receive applies the pushed commit under the server locks.
# Usage: sh examples/push-hooks/setup.sh /srv/git/infra.git [config-dir]
# The hooks run the berth that installs them, by its full path: the Debian
# package's /usr/bin/berth (README § Install), which an upgrade replaces in
# place. Set BERTH=/path/to/berth to use another one.
set -eu
repo=${1:?usage: setup.sh <bare repo path> [config dir in the tree]}
dir=${2:-.}
berth=${BERTH:-/usr/bin/berth}
[ -x "$berth" ] || { echo "no berth at $berth: install the package (README § Install) or set BERTH" >&2; exit 1; }
[ -d "$repo" ] || git init --quiet --bare --initial-branch=main "$repo"
"$berth" hook install --git-dir "$repo" --branch main --dir "$dir" --apply-on-push
echo "Push to it: git remote add infra $repo && git push infra main"
