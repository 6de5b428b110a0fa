/**
 * The segmented AEAD stream format for delivery items (DESIGN §4), in the spirit of Tink's
 * AES-GCM-HKDF streaming AEAD and Hoang–Reyhanitabar–Rogaway–Vizár's "online AE" (STREAM):
 *
 *   header (16 bytes)   "CIDS" | version (1) = 1 | segment plaintext size (uint32 BE) = 65536 | nonce prefix (7, random)
 *   segment 0 … n-1     AES-256-GCM(plaintext ≤ 65536 bytes) ‖ tag (16)
 *
 * Every segment's nonce is prefix (7) ‖ segment counter (uint32 BE) ‖ last-segment flag (1 byte: 1 on the final
 * segment, else 0), and the whole header is its additional authenticated data. The counter stops reordering,
 * the flag stops truncation at a segment boundary and appending, the AAD binds every segment to its header.
 * Every segment but the last is full; the last may be short or empty (an empty item is header + one empty segment).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Random } from '../ports';

export const SEGMENT_SIZE = 65536;
export const HEADER_SIZE = 16;
export const TAG_SIZE = 16;
export const FORMAT_VERSION = 1;

const MAGIC = Buffer.from('CIDS', 'latin1');
const NONCE_PREFIX_SIZE = 7;
const SEALED_SEGMENT_SIZE = SEGMENT_SIZE + TAG_SIZE;
// The counter is 4 bytes: 2^32 segments of 64 KiB = 256 TiB per item.
const MAX_SEGMENTS = 2 ** 32;
const KEY_SIZE = 32;

export type StreamIntegrityErrorCode = 'bad_header' | 'truncated' | 'integrity_failed';

/** The stored bytes are not what we wrote: damaged, tampered with, cut short, or read with the wrong key. */
export class StreamIntegrityError extends Error {
  constructor(
    readonly code: StreamIntegrityErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StreamIntegrityError';
  }
}

// ---------------------------------------------------------------------------------------------
// AES-256-GCM, the one primitive both this format and the column cipher use.

export function gcmSeal(key: Buffer, iv: Buffer, aad: Buffer, plaintext: Buffer): { ciphertext: Buffer; tag: Buffer } {
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_SIZE });
  cipher.setAAD(aad);
  const ciphertext = cipher.update(plaintext);
  cipher.final(); // GCM has no trailing block: final() only computes the tag.
  return { ciphertext, tag: cipher.getAuthTag() };
}

/** null when the tag does not verify; the plaintext is returned only after it does. */
export function gcmOpen(key: Buffer, iv: Buffer, aad: Buffer, ciphertext: Buffer, tag: Buffer): Buffer | null {
  if (tag.length !== TAG_SIZE) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_SIZE });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const plaintext = decipher.update(ciphertext);
  try {
    decipher.final();
  } catch {
    plaintext.fill(0);
    return null;
  }
  return plaintext;
}

// ---------------------------------------------------------------------------------------------
// Header

export interface StreamHeader {
  /** The 16 header bytes exactly as stored: the AAD of every segment. */
  readonly bytes: Buffer;
  readonly version: number;
  readonly segmentSize: number;
  readonly noncePrefix: Buffer;
}

/** Reads and validates the first HEADER_SIZE bytes of `buf` (the rest is ignored). */
export function parseHeader(buf: Buffer): StreamHeader {
  if (buf.length < HEADER_SIZE) throw new StreamIntegrityError('truncated', 'The stream is shorter than its header');
  const bytes = Buffer.from(buf.subarray(0, HEADER_SIZE));
  if (!bytes.subarray(0, 4).equals(MAGIC)) throw new StreamIntegrityError('bad_header', 'Not a Connectid stream');
  const version = bytes.readUInt8(4);
  if (version !== FORMAT_VERSION) throw new StreamIntegrityError('bad_header', `Unsupported stream version ${version}`);
  const segmentSize = bytes.readUInt32BE(5);
  if (segmentSize !== SEGMENT_SIZE) throw new StreamIntegrityError('bad_header', `Unsupported segment size ${segmentSize}`);
  return { bytes, version, segmentSize, noncePrefix: bytes.subarray(9, 9 + NONCE_PREFIX_SIZE) };
}

function buildHeader(noncePrefix: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(header, 0);
  header.writeUInt8(FORMAT_VERSION, 4);
  header.writeUInt32BE(SEGMENT_SIZE, 5);
  noncePrefix.copy(header, 9);
  return header;
}

function segmentNonce(noncePrefix: Buffer, counter: number, last: boolean): Buffer {
  if (counter >= MAX_SEGMENTS) throw new RangeError('The item has more segments than the 32-bit counter allows');
  const nonce = Buffer.allocUnsafe(12);
  noncePrefix.copy(nonce, 0, 0, NONCE_PREFIX_SIZE);
  nonce.writeUInt32BE(counter, NONCE_PREFIX_SIZE);
  nonce.writeUInt8(last ? 1 : 0, 11);
  return nonce;
}

function openSegment(key: Buffer, header: StreamHeader, counter: number, last: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG_SIZE) throw new StreamIntegrityError('truncated', 'The stream ends inside a segment');
  const split = sealed.length - TAG_SIZE;
  const nonce = segmentNonce(header.noncePrefix, counter, last);
  const plaintext = gcmOpen(key, nonce, header.bytes, sealed.subarray(0, split), sealed.subarray(split));
  if (!plaintext) throw new StreamIntegrityError('integrity_failed', 'A segment failed authentication');
  return plaintext;
}

function assertKey(key: Buffer): void {
  if (key.length !== KEY_SIZE) throw new RangeError(`The stream key must be ${KEY_SIZE} bytes`);
}

// ---------------------------------------------------------------------------------------------
// Sizes and ranges

export function segmentCount(plainSize: number): number {
  assertSize(plainSize);
  return Math.max(1, Math.ceil(plainSize / SEGMENT_SIZE));
}

export function encryptedSize(plainSize: number): number {
  return HEADER_SIZE + plainSize + segmentCount(plainSize) * TAG_SIZE;
}

/** The plaintext size an encrypted blob of this size holds; throws when no plaintext size maps to it. */
export function plainSizeOf(encryptedSizeInBytes: number): number {
  assertSize(encryptedSizeInBytes);
  const body = encryptedSizeInBytes - HEADER_SIZE;
  if (body < TAG_SIZE) throw new StreamIntegrityError('truncated', 'Too short to be an encrypted stream');
  const plainSize = body - Math.ceil(body / SEALED_SEGMENT_SIZE) * TAG_SIZE;
  if (plainSize < 0 || encryptedSize(plainSize) !== encryptedSizeInBytes) {
    throw new StreamIntegrityError('integrity_failed', 'No encrypted stream has this size');
  }
  return plainSize;
}

export interface RangePlan {
  /** Where the ciphertext window starts in the blob (after the header, at a segment boundary). */
  readonly cipherOffset: number;
  readonly cipherCount: number;
  readonly firstSegment: number;
  readonly lastSegment: number;
  /** Plaintext bytes to drop from the start of the first segment. */
  readonly skipBytes: number;
  /** Plaintext bytes to emit in total: endInclusive - start + 1. */
  readonly takeBytes: number;
}

/** The segments that hold plaintext bytes [start, endInclusive]; the caller validates the range first (HTTP 416). */
export function planRange(plainSize: number, start: number, endInclusive: number): RangePlan {
  assertSize(plainSize);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endInclusive) || start < 0 || start > endInclusive || endInclusive >= plainSize) {
    throw new RangeError(`Range ${start}-${endInclusive} is outside an item of ${plainSize} bytes`);
  }
  const firstSegment = Math.floor(start / SEGMENT_SIZE);
  const lastSegment = Math.floor(endInclusive / SEGMENT_SIZE);
  const cipherOffset = HEADER_SIZE + firstSegment * SEALED_SEGMENT_SIZE;
  const windowEnd = Math.min(HEADER_SIZE + (lastSegment + 1) * SEALED_SEGMENT_SIZE, encryptedSize(plainSize));
  return {
    cipherOffset,
    cipherCount: windowEnd - cipherOffset,
    firstSegment,
    lastSegment,
    skipBytes: start - firstSegment * SEGMENT_SIZE,
    takeBytes: endInclusive - start + 1,
  };
}

function assertSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`Not a byte count: ${size}`);
}

// ---------------------------------------------------------------------------------------------
// Streams

/**
 * Cuts the input into segments of `segmentBytes`. A full segment is held back until more input arrives,
 * because only the end of input tells whether it is the final one. Memory: one segment.
 */
abstract class SegmentingTransform extends Transform {
  private readonly pending: Buffer;
  private filled = 0;

  protected constructor(private readonly segmentBytes: number) {
    super();
    this.pending = Buffer.allocUnsafe(segmentBytes);
  }

  /** `bytes` may be a view of a reused buffer: use it before returning. */
  protected abstract segment(bytes: Buffer, final: boolean): void;

  /** Lets a subclass consume leading bytes (a header); returns where segment bytes start in `chunk`. */
  protected preamble(_chunk: Buffer): number {
    return 0;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      let offset = this.preamble(chunk);
      while (offset < chunk.length) {
        if (this.filled === this.segmentBytes) {
          this.segment(this.pending, false);
          this.filled = 0;
        }
        const remaining = chunk.length - offset;
        if (this.filled === 0 && remaining > this.segmentBytes) {
          // Followed by more bytes of this chunk, so not final: work on it in place, no copy.
          this.segment(chunk.subarray(offset, offset + this.segmentBytes), false);
          offset += this.segmentBytes;
        } else {
          const n = Math.min(this.segmentBytes - this.filled, remaining);
          chunk.copy(this.pending, this.filled, offset, offset + n);
          this.filled += n;
          offset += n;
        }
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.segment(this.pending.subarray(0, this.filled), true);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

class EncryptStream extends SegmentingTransform {
  private readonly header: Buffer;
  private readonly noncePrefix: Buffer;
  private counter = 0;

  constructor(
    private readonly key: Buffer,
    random: Random,
  ) {
    super(SEGMENT_SIZE);
    assertKey(key);
    this.noncePrefix = random.bytes(NONCE_PREFIX_SIZE);
    if (this.noncePrefix.length !== NONCE_PREFIX_SIZE) throw new RangeError('Random returned the wrong number of bytes');
    this.header = buildHeader(this.noncePrefix);
    this.push(this.header);
  }

  protected override segment(bytes: Buffer, final: boolean): void {
    const nonce = segmentNonce(this.noncePrefix, this.counter++, final);
    const { ciphertext, tag } = gcmSeal(this.key, nonce, this.header, bytes);
    if (ciphertext.length > 0) this.push(ciphertext);
    this.push(tag);
  }
}

class DecryptStream extends SegmentingTransform {
  private readonly headerBytes = Buffer.alloc(HEADER_SIZE);
  private headerFilled = 0;
  private header: StreamHeader | null = null;
  private counter = 0;

  constructor(private readonly key: Buffer) {
    super(SEALED_SEGMENT_SIZE);
    assertKey(key);
  }

  protected override preamble(chunk: Buffer): number {
    if (this.header) return 0;
    const n = Math.min(HEADER_SIZE - this.headerFilled, chunk.length);
    chunk.copy(this.headerBytes, this.headerFilled, 0, n);
    this.headerFilled += n;
    if (this.headerFilled === HEADER_SIZE) this.header = parseHeader(this.headerBytes);
    return n;
  }

  protected override segment(bytes: Buffer, final: boolean): void {
    if (!this.header) throw new StreamIntegrityError('truncated', 'The stream is shorter than its header');
    const plaintext = openSegment(this.key, this.header, this.counter++, final, bytes);
    if (plaintext.length > 0) this.push(plaintext);
  }
}

class RangeDecryptStream extends SegmentingTransform {
  private readonly header: StreamHeader;
  private counter: number;
  private received = 0;
  private toSkip: number;
  private toTake: number;

  constructor(
    private readonly key: Buffer,
    headerBytes: Buffer,
    private readonly plan: RangePlan,
    private readonly totalSegments: number,
  ) {
    super(SEALED_SEGMENT_SIZE);
    assertKey(key);
    if (plan.lastSegment >= totalSegments) throw new RangeError('The range plan reaches past the last segment');
    this.header = parseHeader(headerBytes);
    this.counter = plan.firstSegment;
    this.toSkip = plan.skipBytes;
    this.toTake = plan.takeBytes;
  }

  protected override segment(bytes: Buffer, final: boolean): void {
    this.received += bytes.length;
    if (this.received > this.plan.cipherCount) throw new StreamIntegrityError('integrity_failed', 'The window is longer than planned');
    if (final && this.received < this.plan.cipherCount) throw new StreamIntegrityError('truncated', 'The window is shorter than planned');
    if (this.counter > this.plan.lastSegment) throw new StreamIntegrityError('integrity_failed', 'The window holds more segments than planned');
    const counter = this.counter++;
    // The flag belongs to the item's real final segment, not to the last one of the window.
    let out = openSegment(this.key, this.header, counter, counter === this.totalSegments - 1, bytes);
    if (this.toSkip > 0) {
      out = out.subarray(this.toSkip);
      this.toSkip = 0;
    }
    if (out.length > this.toTake) out = out.subarray(0, this.toTake);
    this.toTake -= out.length;
    if (out.length > 0) this.push(out);
    if (final && this.toTake !== 0) throw new StreamIntegrityError('truncated', 'The window holds fewer bytes than planned');
  }
}

/** Plaintext in, header + sealed segments out. */
export function createEncryptStream(key: Buffer, random: Random): Transform {
  return new EncryptStream(key, random);
}

/** Header + sealed segments in, plaintext out; each segment is released only after its tag verifies. */
export function createDecryptStream(key: Buffer): Transform {
  return new DecryptStream(key);
}

/**
 * Decrypts the window `planRange` chose (bytes [plan.cipherOffset, +plan.cipherCount) of the blob) and emits
 * exactly the planned plaintext bytes. `header` is the blob's first HEADER_SIZE bytes, fetched separately;
 * `totalSegments` is segmentCount(plainSize) of the whole item. Throws StreamIntegrityError at once on a bad header.
 */
export function createRangeDecryptStream(key: Buffer, header: Buffer, plan: RangePlan, totalSegments: number): Transform {
  return new RangeDecryptStream(key, header, plan, totalSegments);
}
