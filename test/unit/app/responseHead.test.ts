/**
 * The dev host computes a response's status and headers without building a WHATWG Response per request; this holds
 * that shortcut to exactly what @azure/functions' HttpResponse (what Azure sends) makes of the same answers.
 */
import type { HttpResponseInit } from '@azure/functions';
import { Readable } from 'node:stream';
import { responseHead, viaHttpResponse } from '../../../lib/app/devHost/server';
import { json, noContent } from '../../../lib/http/reply';

const answers: [string, () => HttpResponseInit][] = [
  ['a JSON reply', () => json(200, { ok: true })],
  ['a JSON reply with extra headers', () => json(201, { id: 'x' }, { Location: '/v1/x', 'Idempotent-Replay': 'true' })],
  ['no content', () => noContent()],
  ['304 with an ETag and a type', () => ({ status: 304, headers: { ETag: '"abc"', 'Content-Type': 'text/css' } })],
  ['a string body without a type', () => ({ status: 200, body: 'plain words' })],
  ['a string body with a type', () => ({ status: 200, headers: { 'content-type': 'text/csv' }, body: 'a,b' })],
  ['bytes without a type', () => ({ status: 200, body: Buffer.from('bytes') })],
  ['bytes with a type', () => ({ status: 200, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': '5' }, body: Buffer.from('bytes') })],
  ['a stream', () => ({ status: 206, headers: { 'Content-Range': 'bytes 0-1/10', 'Content-Length': '2' }, body: Readable.from([Buffer.from('ab')]) })],
  ['a jsonBody', () => ({ status: 200, jsonBody: { a: 1 } })],
  ['a jsonBody with its own type', () => ({ status: 200, headers: { 'Content-Type': 'application/problem+json' }, jsonBody: { a: 1 } })],
  ['no status, no headers', () => ({})],
  ['the same name in two casings', () => ({ status: 200, headers: { 'X-Thing': 'a', 'x-thing': 'b' }, body: '' })],
];

test.each(answers)('%s: the same status and headers as HttpResponse', (_name, answer) => {
  expect(responseHead(answer())).toEqual(viaHttpResponse(answer()));
});

test('answers the shortcut does not know go through HttpResponse itself', () => {
  const headers = new Headers({ 'X-Via': 'headers object' });
  expect(responseHead({ status: 200, headers, body: 'x' })).toEqual(viaHttpResponse({ status: 200, headers, body: 'x' }));
  const pairs: [string, string][] = [['X-Pair', '1']];
  expect(responseHead({ status: 200, headers: pairs })).toEqual({ status: 200, headers: { 'x-pair': '1' } });
});
