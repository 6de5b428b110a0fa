import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
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
  handler: async (request, { params }) => {
    const requested = params.asset ?? '';
    // The hash router keeps every page on index.html; a name not on the list is a 404, never a file-system path.
    const asset = portalAssets().get(requested === '' ? 'index.html' : requested);
    if (!asset) throw errors.notFound();
    // no-cache + ETag: the browser revalidates every file (a deploy shows at once) but downloads it only when changed.
    const headers = { 'Content-Security-Policy': PORTAL_CSP, 'Content-Type': asset.contentType, 'Cache-Control': 'no-cache', ETag: asset.etag };
    if (matches(request.headers.get('if-none-match'), asset.etag)) return { status: 304, headers };
    return { status: 200, headers, body: asset.body };
  },
});

export interface PortalAsset {
  readonly contentType: string;
  readonly body: Buffer;
  /** Strong validator: a hash of the content. */
  readonly etag: string;
}

let directory: string | undefined;
let assets: ReadonlyMap<string, PortalAsset> | undefined;

/**
 * The allow-list: the files in portal/ whose names match ASSET_NAME, read into memory once (the whole portal is a
 * few dozen KB). A request names a key of this map or gets a 404; it never becomes a file-system path of its own.
 * Edits to portal/ show after a restart of the host.
 */
export function portalAssets(): ReadonlyMap<string, PortalAsset> {
  if (assets) return assets;
  const found = new Map<string, PortalAsset>();
  for (const entry of fs.readdirSync(portalDirectory(), { withFileTypes: true })) {
    const match = entry.isFile() ? ASSET_NAME.exec(entry.name) : null;
    if (!match) continue;
    const body = fs.readFileSync(path.join(portalDirectory(), entry.name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    found.set(entry.name, { contentType: TYPES[match[1]!]!, body, etag });
  }
  assets = found;
  return assets;
}

/** If-None-Match: `*` or a list of entity tags (weak ones compare by their opaque part, RFC 9110 §13.1.2). */
function matches(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** portal/ next to functions/ (running the TypeScript) or two levels up from dist/functions/ (compiled, in Azure). */
export function portalDirectory(): string {
  if (directory) return directory;
  const candidates = [path.resolve(__dirname, '../portal'), path.resolve(__dirname, '../../portal')];
  directory = candidates.find((candidate) => fs.existsSync(path.join(candidate, 'index.html'))) ?? candidates[1]!;
  return directory;
}
