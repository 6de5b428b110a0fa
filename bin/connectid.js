#!/usr/bin/env node
'use strict';
// The operator CLI. The TypeScript is compiled by `npm install` (prepare) and `npm run build`.
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  console.error('connectid: not built yet. Run `npm run build` in ' + path.join(__dirname, '..'));
  process.exit(1);
}
require(entry).run(process.argv.slice(2)).then((code) => process.exit(code));
