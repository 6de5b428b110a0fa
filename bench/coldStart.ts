/**
 * DESIGN §8: loading the function app module takes < 400 ms (heavy dependencies load lazily). Each run is a fresh
 * Node process that times `require()` of the compiled entry module (dist/lib/app/azureEntry.js, package.json
 * "main"), which registers every route and timer; the median and worst of RUNS are printed against the budget,
 * with the modules of node_modules the load pulled in (the heavy adapters must not be among them).
 *
 *   npm run bench:cold            (RUNS to change the count)
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const RUNS = Number(process.env.RUNS ?? 15);
const BUDGET_IN_MS = 400;
const ENTRY = path.resolve(__dirname, '../lib/app/azureEntry.js');

/** Runs in the child: time the require, then list the packages it loaded. */
const PROBE = `
const started = performance.now();
require(${JSON.stringify(ENTRY)});
const loadMs = performance.now() - started;
const packages = new Set();
for (const file of Object.keys(require.cache)) {
  const inside = file.split('node_modules/')[1];
  if (!inside) continue;
  const parts = inside.split('/');
  packages.add(parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0]);
}
process.stdout.write('\\n' + JSON.stringify({ loadMs, packages: [...packages].sort() }) + '\\n');
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function main(): void {
  const loads: number[] = [];
  let packages: string[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Outside the Functions host the library warns on stderr (test mode: registrations are skipped, which costs
    // less than registering — the time below is a lower bound of the worker's load).
    const output = execFileSync(process.execPath, ['-e', PROBE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    // The Functions library also prints a line of its own ("HTTP streaming enabled."): the answer is the last line.
    const answer = JSON.parse(output.trim().split('\n').pop()!) as { loadMs: number; packages: string[] };
    loads.push(answer.loadMs);
    packages = answer.packages;
  }
  const middle = median(loads);
  const worst = Math.max(...loads);
  console.log(`Cold start benchmark — ${RUNS} fresh processes, ${os.cpus().length} cores, Node ${process.version}`);
  console.log(`  require(azureEntry): median ${middle.toFixed(0)} ms, worst ${worst.toFixed(0)} ms`);
  console.log(`  median ÷ budget ${(middle / BUDGET_IN_MS).toFixed(2)} (budget < ${BUDGET_IN_MS} ms): ${middle < BUDGET_IN_MS ? 'within budget' : 'OVER budget'}`);
  console.log(`  packages loaded: ${packages.join(', ')}`);
}

main();
