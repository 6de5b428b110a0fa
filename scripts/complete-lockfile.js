#!/usr/bin/env node
'use strict';
/**
 * The npm registry reachable from our build machines serves only the platform binaries of this platform
 * (e.g. @swc/core-linux-x64-gnu, not -darwin-arm64). `npm install` then leaves the other platforms' optional
 * packages out of package-lock.json, and `npm ci` refuses the lock ("Missing: … from lock file").
 * This adds those entries back — optional, pinned to the exact version the parent asks for, with the os/cpu
 * their names declare — so `npm ci` skips them as foreign-platform packages, exactly as with a complete lock.
 * Run after changing dependencies: `npm install && node scripts/complete-lockfile.js`.
 */
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const OS = ['darwin', 'linux', 'win32', 'freebsd', 'android', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'];
const CPU = { arm64: 'arm64', x64: 'x64', ia32: 'ia32', arm: 'arm', ppc64: 'ppc64', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', wasm32: 'wasm32' };

let added = 0;
for (const [location, entry] of Object.entries(lock.packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${location ? `${location}/` : ''}node_modules/${name}`;
    if (lock.packages[nested] || lock.packages[`node_modules/${name}`]) continue;
    if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(spec)) {
      console.error(`complete-lockfile: ${name}@${spec} is not an exact version; add it by hand`);
      process.exitCode = 1;
      continue;
    }
    const parts = name.split('/').pop().split('-');
    const os = parts.find((part) => OS.includes(part));
    const cpu = parts.map((part) => CPU[part]).find(Boolean);
    if (!os || !cpu) {
      console.error(`complete-lockfile: cannot tell the platform of ${name}; add it by hand`);
      process.exitCode = 1;
      continue;
    }
    lock.packages[`node_modules/${name}`] = { version: spec, cpu: [cpu], os: [os], optional: true };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} foreign-platform optional entries`);
