#!/usr/bin/env bash
# Installs what the e2e suite (test/e2e/) needs into .cache/e2e/: code-server (a real VS Code that
# runs in a browser, from the npm registry) and playwright-core, driving Debian's chromium.
#
# code-server's own postinstall cannot run here (it fails as root under npm 11 and downloads
# ripgrep from GitHub), so this script performs its steps by hand; see shared/e2e/README.md.
# Idempotent: a stamp file records what was installed, and a second run only re-checks (seconds).
#
# Env: VRL_E2E_CACHE (default <repo>/.cache/e2e), VRL_E2E_FORCE=1 to reinstall from scratch,
#      VRL_E2E_CHROMIUM (default /usr/bin/chromium).
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_CORE_VERSION=1.64.1
CHROMIUM="${VRL_E2E_CHROMIUM:-/usr/bin/chromium}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${VRL_E2E_CACHE:-$ROOT/.cache/e2e}"
PREFIX="$CACHE/install"
STAMP="$CACHE/stamp"
LOG="$CACHE/setup.log"

say() { printf 'e2e-setup: %s\n' "$*"; }
die() { printf 'e2e-setup: FAILED: %s\n' "$*" >&2; exit 1; }

# Runs a step quietly, with its output in $LOG; on failure prints the log's tail and one clear line.
step() {
  local what="$1"; shift
  say "$what"
  if ! "$@" >>"$LOG" 2>&1; then
    tail -n 25 "$LOG" >&2 || true
    die "$what (full log: $LOG)"
  fi
}

mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock -w 900 9 || die "another e2e-setup holds $CACHE/lock for more than 15 minutes"

# ---- system tools -------------------------------------------------------------------------
command -v node >/dev/null || die "node is not on PATH"
command -v npm >/dev/null || die "npm is not on PATH"
NODE_VERSION="$(node --version)"
case "$NODE_VERSION" in
  v20.*) ;;
  *) say "warning: code-server $CODE_SERVER_VERSION is built for Node 20; this is $NODE_VERSION" ;;
esac

# command-or-file -> Debian package
missing_pkgs=()
[ -x "$CHROMIUM" ] || missing_pkgs+=(chromium)
command -v rg >/dev/null || missing_pkgs+=(ripgrep)
[ -e /usr/include/gssapi/gssapi.h ] || [ -e /usr/include/krb5.h ] || missing_pkgs+=(libkrb5-dev)
command -v python3 >/dev/null || missing_pkgs+=(python3)
command -v make >/dev/null || missing_pkgs+=(make)
command -v g++ >/dev/null || missing_pkgs+=(g++)
if [ "${#missing_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    : >"$LOG"
    step "installing Debian packages: ${missing_pkgs[*]}" \
      bash -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q --no-install-recommends ${missing_pkgs[*]}"
  else
    die "missing Debian packages: ${missing_pkgs[*]}; as root run: apt-get install -y ${missing_pkgs[*]}"
  fi
fi
RG="$(command -v rg)"

# ---- stamp: skip the install when it is complete and for the same inputs ----------------------
SELF_SUM="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
WANT="code-server=$CODE_SERVER_VERSION playwright-core=$PLAYWRIGHT_CORE_VERSION node=$NODE_VERSION setup=$SELF_SUM"
CS="$PREFIX/node_modules/code-server"
VSC="$CS/lib/vscode"

NATIVE_MODULES="kerberos node-pty @parcel/watcher @vscode/spdlog native-watchdog @vscode/deviceid"

# True when the install is complete: files present and every native module loads in this Node.
# On failure, $BROKEN says what is wrong.
verify() {
  BROKEN=""
  [ -f "$CS/out/node/entry.js" ] || { BROKEN="code-server is not installed"; return 1; }
  [ -f "$PREFIX/node_modules/playwright-core/package.json" ] || { BROKEN="playwright-core is not installed"; return 1; }
  [ -x "$VSC/node_modules/@vscode/ripgrep/bin/rg" ] || { BROKEN="ripgrep is not copied into VS Code"; return 1; }
  [ -e "$VSC/node_modules.asar" ] || { BROKEN="lib/vscode/node_modules.asar link is missing"; return 1; }
  (cd "$VSC" && node -e 'for (const m of process.argv.slice(1)) require(m)' $NATIVE_MODULES) >/dev/null 2>&1 ||
    { BROKEN="a native module of VS Code does not load ($NATIVE_MODULES)"; return 1; }
  (cd "$CS" && node -e 'require("argon2")') >/dev/null 2>&1 || { BROKEN="argon2 does not load"; return 1; }
}

if [ "${VRL_E2E_FORCE:-0}" != 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && verify; then
  say "ready (cached: $WANT)"
  exit 0
fi
if [ -f "$STAMP" ]; then
  if [ "$(cat "$STAMP")" != "$WANT" ]; then say "cache is for $(cat "$STAMP"); reinstalling"
  elif [ "${VRL_E2E_FORCE:-0}" = 1 ]; then say "VRL_E2E_FORCE=1; reinstalling"
  else say "cache is broken ($BROKEN); reinstalling"
  fi
fi

# ---- install from scratch -----------------------------------------------------------------
start=$SECONDS
: >"$LOG"
rm -f "$STAMP"
rm -rf "$PREFIX"
mkdir -p "$PREFIX"
# Our own package.json makes $PREFIX npm's project root, so the repo's .npmrc does not apply.
cat >"$PREFIX/package.json" <<EOF
{
  "name": "vrl-e2e-cache",
  "private": true,
  "description": "Written by scripts/e2e-setup.sh; safe to delete.",
  "dependencies": {
    "code-server": "$CODE_SERVER_VERSION",
    "playwright-core": "$PLAYWRIGHT_CORE_VERSION"
  }
}
EOF

export npm_config_yes=true npm_config_audit=false npm_config_fund=false \
  npm_config_update_notifier=false npm_config_loglevel=warn npm_config_progress=false

step "npm install code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_CORE_VERSION (scripts off)" \
  npm install --prefix "$PREFIX" --ignore-scripts
[ -d "$VSC" ] || die "code-server installed without lib/vscode ($VSC)"

step "installing VS Code's runtime dependencies (lib/vscode)" \
  bash -c "cd '$VSC' && npm install --omit=dev --ignore-scripts"
step "building native modules ($NATIVE_MODULES) with node-gyp, about 40 s" \
  bash -c "cd '$VSC' && npm rebuild --ignore-scripts=false $NATIVE_MODULES"
step "installing built-in extensions' dependencies (lib/vscode/extensions)" \
  bash -c "cd '$VSC/extensions' && npm install --omit=dev --ignore-scripts"
step "building argon2 (code-server's password hashing)" \
  bash -c "cd '$PREFIX' && npm rebuild --ignore-scripts=false argon2"

say "linking ripgrep ($RG) and the links code-server's postinstall would make"
mkdir -p "$VSC/node_modules/@vscode/ripgrep/bin"
cp -f "$RG" "$VSC/node_modules/@vscode/ripgrep/bin/rg"
ln -sfn node_modules "$VSC/node_modules.asar"
[ -f "$VSC/bin/remote-cli/code-linux.sh" ] && ln -sfn code-linux.sh "$VSC/bin/remote-cli/code-server"
[ -f "$VSC/bin/helpers/browser-linux.sh" ] && ln -sfn browser-linux.sh "$VSC/bin/helpers/browser.sh"

verify || die "install finished but is broken: $BROKEN (log: $LOG)"

# A real start proves the native modules load: --version loads the server entry point.
step "checking that code-server runs" node "$CS/out/node/entry.js" --version
printf '%s' "$WANT" >"$STAMP"
say "ready in $((SECONDS - start)) s ($WANT)"
