#!/usr/bin/env bash
# Browser tests. Installs Debian's Chromium when it is missing and none is named by CHROMIUM_PATH.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
npm run test:e2e -- --ci
