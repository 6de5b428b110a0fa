import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { errors } from '../lib/errors';
import { defineRoute } from '../lib/http/route';

/**
 * The web portal: static files from portal/ at the repository root, served from an allow-list under a strict
 * Content-Security-Policy (no inline script or style). The portal speaks only the public API of this same host.
 */
const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** A plain lower-case file name with a served extension: no dots elsewhere, no slashes, nothing hidden. */
const ASSET_NAME = /^[a-z][a-z0-9-]*\.(html|js|css)$/;

export const PORTAL_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export const definition = defineRoute({
  name: 'portal',
  methods: ['GET'],
  route: 'portal/{*asset}',
  auth: 'public',
  openapi: false,
  handler: async (_request, { params }) => {
    const requested = params.asset ?? '';
    // The hash router keeps every page on index.html; a name not on the list is a 404, never a file-system path.
    const asset = requested === '' ? 'index.html' : requested;
    const contentType = portalAssets().get(asset);
    if (!contentType) throw errors.notFound();
    return {
      status: 200,
      headers: { 'Content-Security-Policy': PORTAL_CSP, 'Content-Type': contentType, 'Cache-Control': 'no-cache' },
      body: Readable.from(fs.createReadStream(path.join(portalDirectory(), asset))),
    };
  },
});

let directory: string | undefined;
let assets: ReadonlyMap<string, string> | undefined;

/**
 * The allow-list: the files in portal/ whose names match ASSET_NAME, read once. A request names a key of this map
 * or gets a 404; it never becomes a file-system path of its own.
 */
export function portalAssets(): ReadonlyMap<string, string> {
  if (assets) return assets;
  const found = new Map<string, string>();
  for (const entry of fs.readdirSync(portalDirectory(), { withFileTypes: true })) {
    const match = entry.isFile() ? ASSET_NAME.exec(entry.name) : null;
    if (match) found.set(entry.name, TYPES[match[1]!]!);
  }
  assets = found;
  return assets;
}

/** portal/ next to functions/ (running the TypeScript) or two levels up from dist/functions/ (compiled, in Azure). */
export function portalDirectory(): string {
  if (directory) return directory;
  const candidates = [path.resolve(__dirname, '../portal'), path.resolve(__dirname, '../../portal')];
  directory = candidates.find((candidate) => fs.existsSync(path.join(candidate, 'index.html'))) ?? candidates[1]!;
  return directory;
}
