import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Random } from '../../../lib/ports';
import {
  HEADER_SIZE,
  SEGMENT_SIZE,
  StreamIntegrityError,
  TAG_SIZE,
  createDecryptStream,
  createEncryptStream,
  createRangeDecryptStream,
  encryptedSize,
  gcmOpen,
  gcmSeal,
  parseHeader,
  planRange,
  plainSizeOf,
  segmentCount,
} from '../../../lib/crypto/streamFormat';

const SEALED = SEGMENT_SIZE + TAG_SIZE;
// SHA-256 of the sealed 150,000 patterned bytes below; stored items become unreadable if this ever changes.
const GOLDEN_SHA256 = '0558813850f057fbd17a9d110479026d157c7938a3e761df033184b71850f331';
const key = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const fixedRandom = (prefix: Buffer): Random => ({
  bytes: (length) => Buffer.from(prefix.subarray(0, length)),
  id: () => 'fixed',
});
const realRandom: Random = { bytes: (length) => randomBytes(length), id: () => 'unused' };

function* pieces(input: Buffer, chunkSize: number): Generator<Buffer> {
  for (let offset = 0; offset < input.length; offset += chunkSize) yield input.subarray(offset, offset + chunkSize);
}

async function run(transform: Transform, input: Buffer, chunkSize = 128 * 1024): Promise<{ output: Buffer; error: unknown }> {
  const received: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      callback();
    },
  });
  let error: unknown = null;
  try {
    await pipeline(Readable.from(pieces(input, chunkSize)), transform, sink);
  } catch (caught) {
    error = caught;
  }
  return { output: Buffer.concat(received), error };
}

async function encrypt(plain: Buffer, chunkSize?: number, random: Random = realRandom): Promise<Buffer> {
  const { output, error } = await run(createEncryptStream(key, random), plain, chunkSize);
  if (error) throw error;
  return output;
}

function codeOf(error: unknown): string | undefined {
  return error instanceof StreamIntegrityError ? error.code : undefined;
}

function patterned(length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
  return bytes;
}

function flipBit(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = copy.readUInt8(offset) ^ 0x01;
  return copy;
}

describe('AES-256-GCM, the primitive under the format', () => {
  // McGrew & Viega, "The Galois/Counter Mode of Operation", Test Case 16 (256-bit key, AAD, 60-byte plaintext).
  const tc16 = {
    key: Buffer.from('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308', 'hex'),
    iv: Buffer.from('cafebabefacedbaddecaf888', 'hex'),
    aad: Buffer.from('feedfacedeadbeeffeedfacedeadbeefabaddad2', 'hex'),
    plaintext: Buffer.from(
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
      'hex',
    ),
    ciphertext: Buffer.from(
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
      'hex',
    ),
    tag: Buffer.from('76fc6ece0f4e1768cddf8853bb2d551b', 'hex'),
  };

  it('seals the GCM spec test case 16 to its published ciphertext and tag', () => {
    const { ciphertext, tag } = gcmSeal(tc16.key, tc16.iv, tc16.aad, tc16.plaintext);
    expect(ciphertext.toString('hex')).toBe(tc16.ciphertext.toString('hex'));
    expect(tag.toString('hex')).toBe(tc16.tag.toString('hex'));
  });

  it('opens test case 16, and refuses it when the AAD or the tag changes', () => {
    expect(gcmOpen(tc16.key, tc16.iv, tc16.aad, tc16.ciphertext, tc16.tag)?.equals(tc16.plaintext)).toBe(true);
    expect(gcmOpen(tc16.key, tc16.iv, flipBit(tc16.aad, 0), tc16.ciphertext, tc16.tag)).toBeNull();
    expect(gcmOpen(tc16.key, tc16.iv, tc16.aad, tc16.ciphertext, flipBit(tc16.tag, 15))).toBeNull();
    expect(gcmOpen(tc16.key, tc16.iv, tc16.aad, tc16.ciphertext, tc16.tag.subarray(0, 12))).toBeNull();
  });
});

describe('the stream format', () => {
  const prefix = Buffer.from('a0a1a2a3a4a5a6', 'hex');

  it('writes the documented 16-byte header: magic, version, segment size, nonce prefix', async () => {
    const sealed = await encrypt(Buffer.alloc(0), undefined, fixedRandom(prefix));
    expect(sealed.subarray(0, HEADER_SIZE).toString('hex')).toBe('43494453' + '01' + '00010000' + 'a0a1a2a3a4a5a6');
    expect(parseHeader(sealed)).toMatchObject({ version: 1, segmentSize: SEGMENT_SIZE });
  });

  it('seals an empty item as the header and one empty final segment', async () => {
    const sealed = await encrypt(Buffer.alloc(0));
    expect(sealed.length).toBe(HEADER_SIZE + TAG_SIZE);
    expect(encryptedSize(0)).toBe(sealed.length);
  });

  it('matches the format as specified, rebuilt here from the raw primitive', async () => {
    const plain = patterned(2 * SEGMENT_SIZE + 123);
    const header = Buffer.concat([Buffer.from('CIDS'), Buffer.of(1, 0, 1, 0, 0), prefix]);
    const expected: Buffer[] = [header];
    for (let counter = 0; counter < 3; counter++) {
      const nonce = Buffer.concat([prefix, Buffer.of(0, 0, 0, counter, counter === 2 ? 1 : 0)]);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(header);
      expected.push(cipher.update(plain.subarray(counter * SEGMENT_SIZE, (counter + 1) * SEGMENT_SIZE)), cipher.final(), cipher.getAuthTag());
    }
    const sealed = await encrypt(plain, 1000, fixedRandom(prefix));
    expect(sealed.equals(Buffer.concat(expected))).toBe(true);
  });

  it('keeps its golden vector, so any change to the format is noticed', async () => {
    const sealed = await encrypt(patterned(150_000), 4096, fixedRandom(prefix));
    expect(sealed.length).toBe(150_000 + HEADER_SIZE + 3 * TAG_SIZE);
    expect(createHash('sha256').update(sealed).digest('hex')).toBe(GOLDEN_SHA256);
  });

  it('uses a fresh nonce prefix per item, so equal plaintexts encrypt differently', async () => {
    const plain = patterned(1000);
    expect((await encrypt(plain)).equals(await encrypt(plain))).toBe(false);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => createEncryptStream(Buffer.alloc(16), realRandom)).toThrow(RangeError);
    expect(() => createDecryptStream(Buffer.alloc(31))).toThrow(RangeError);
  });
});

describe('round trips', () => {
  const sizes = [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 3 * SEGMENT_SIZE];
  const chunkSizes = [1, 7, 100 * 1024];

  for (const size of sizes) {
    for (const chunkSize of chunkSizes) {
      it(`returns ${size} bytes unchanged when fed in ${chunkSize}-byte chunks`, async () => {
        const plain = randomBytes(size);
        const sealed = await encrypt(plain, chunkSize);
        expect(sealed.length).toBe(encryptedSize(size));
        const { output, error } = await run(createDecryptStream(key), sealed, chunkSize);
        expect(error).toBeNull();
        expect(output.equals(plain)).toBe(true);
      });
    }
  }

  it('returns about a megabyte of random bytes unchanged, whatever the chunking', async () => {
    const plain = randomBytes(1_000_003);
    for (const chunkSize of [7, 100 * 1024, 1 << 20]) {
      const sealed = await encrypt(plain, chunkSize);
      const { output, error } = await run(createDecryptStream(key), sealed, chunkSize === 7 ? 100 * 1024 : 7);
      expect(error).toBeNull();
      expect(output.equals(plain)).toBe(true);
    }
  });
});

describe('decryption refuses damaged or tampered streams', () => {
  const plainSize = 3 * SEGMENT_SIZE + 1000; // four segments, the last one short
  let plain: Buffer;
  let sealed: Buffer;
  const segmentStart = (index: number) => HEADER_SIZE + index * SEALED;

  beforeAll(async () => {
    plain = randomBytes(plainSize);
    sealed = await encrypt(plain);
  });

  async function expectRefused(input: Buffer, code: string, verifiedSegments = 0, chunkSize?: number): Promise<void> {
    const { output, error } = await run(createDecryptStream(key), input, chunkSize);
    expect(codeOf(error)).toBe(code);
    // Nothing from the failing segment on may come out: only whole segments that verified before it.
    expect(output.length).toBeLessThanOrEqual(verifiedSegments * SEGMENT_SIZE);
    expect(output.equals(plain.subarray(0, output.length))).toBe(true);
  }

  it('when a bit of the magic flips, the header is refused', () => expectRefused(flipBit(sealed, 0), 'bad_header'));
  it('when the version changes, the header is refused', () => expectRefused(flipBit(sealed, 4), 'bad_header'));
  it('when the segment size changes, the header is refused', () => expectRefused(flipBit(sealed, 7), 'bad_header'));
  it('when a bit of the nonce prefix flips, the first segment fails', () => expectRefused(flipBit(sealed, 12), 'integrity_failed'));

  it('when a bit in a middle segment flips, nothing of that segment is released', async () => {
    await expectRefused(flipBit(sealed, segmentStart(2) + 5000), 'integrity_failed', 2);
    await expectRefused(flipBit(sealed, segmentStart(2) + 5000), 'integrity_failed', 2, 1);
  });

  it('when a bit in a tag flips, that segment fails', () =>
    expectRefused(flipBit(sealed, segmentStart(2) - 1), 'integrity_failed', 1));

  it('when the stream is cut inside a segment, it fails', async () => {
    await expectRefused(sealed.subarray(0, segmentStart(2) + 100), 'integrity_failed', 2);
    await expectRefused(sealed.subarray(0, segmentStart(3) + 5), 'truncated', 3);
  });

  it('when the final segment is dropped at a segment boundary, it fails', () =>
    expectRefused(sealed.subarray(0, segmentStart(3)), 'integrity_failed', 2));

  it('when an item of whole segments loses its final segment, it fails', async () => {
    const whole = randomBytes(2 * SEGMENT_SIZE);
    const wholeSealed = await encrypt(whole);
    const { output, error } = await run(createDecryptStream(key), wholeSealed.subarray(0, segmentStart(1)));
    expect(codeOf(error)).toBe('integrity_failed');
    expect(output.length).toBe(0);
  });

  it('when two segments are swapped, it fails before releasing either', async () => {
    const swapped = Buffer.concat([
      sealed.subarray(0, HEADER_SIZE),
      sealed.subarray(segmentStart(1), segmentStart(2)),
      sealed.subarray(segmentStart(0), segmentStart(1)),
      sealed.subarray(segmentStart(2)),
    ]);
    await expectRefused(swapped, 'integrity_failed', 0);
  });

  it('when bytes are appended after the final segment, it fails', async () => {
    await expectRefused(Buffer.concat([sealed, Buffer.of(0)]), 'integrity_failed', 3);
    await expectRefused(Buffer.concat([sealed, sealed.subarray(segmentStart(3))]), 'integrity_failed', 3);
  });

  it('when bytes are appended to an item of whole segments, it fails', async () => {
    const wholeSealed = await encrypt(randomBytes(2 * SEGMENT_SIZE));
    const { error } = await run(createDecryptStream(key), Buffer.concat([wholeSealed, Buffer.alloc(TAG_SIZE)]));
    expect(codeOf(error)).toBe('integrity_failed');
  });

  it('when the key is wrong, the first segment fails', async () => {
    const { output, error } = await run(createDecryptStream(randomBytes(32)), sealed);
    expect(codeOf(error)).toBe('integrity_failed');
    expect(output.length).toBe(0);
  });

  it('when the input is shorter than a header, or has no segment, it is truncated', async () => {
    for (const input of [Buffer.alloc(0), sealed.subarray(0, 10), sealed.subarray(0, HEADER_SIZE), sealed.subarray(0, HEADER_SIZE + 10)]) {
      expect(codeOf((await run(createDecryptStream(key), input)).error)).toBe('truncated');
    }
  });
});

describe('sizes', () => {
  it('maps every plaintext size to one encrypted size and back', () => {
    for (const size of [0, 1, 15, 16, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 5 * SEGMENT_SIZE, 5 * SEGMENT_SIZE + 17, 2 ** 40 + 3]) {
      expect(plainSizeOf(encryptedSize(size))).toBe(size);
    }
    expect(segmentCount(0)).toBe(1);
    expect(segmentCount(SEGMENT_SIZE)).toBe(1);
    expect(segmentCount(SEGMENT_SIZE + 1)).toBe(2);
  });

  it('refuses encrypted sizes no stream can have', () => {
    expect(codeOf(catchError(() => plainSizeOf(HEADER_SIZE + TAG_SIZE - 1)))).toBe('truncated');
    expect(codeOf(catchError(() => plainSizeOf(HEADER_SIZE + SEALED + 5)))).toBe('integrity_failed');
    expect(() => plainSizeOf(-1)).toThrow(RangeError);
  });
});

function catchError(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  return null;
}

describe('range reads by segment', () => {
  const plainSize = 3 * SEGMENT_SIZE + 1000;
  let plain: Buffer;
  let sealed: Buffer;

  beforeAll(async () => {
    plain = randomBytes(plainSize);
    sealed = await encrypt(plain);
  });

  async function readRange(blob: Buffer, size: number, start: number, end: number, tamper?: (window: Buffer) => Buffer) {
    const plan = planRange(size, start, end);
    let window = blob.subarray(plan.cipherOffset, plan.cipherOffset + plan.cipherCount);
    if (tamper) window = tamper(window);
    return run(createRangeDecryptStream(key, blob.subarray(0, HEADER_SIZE), plan, segmentCount(size)), window, 7919);
  }

  const S = SEGMENT_SIZE;
  const pairs: Array<[number, number]> = [
    [0, 0],
    [0, plainSize - 1],
    [plainSize - 1, plainSize - 1],
    [S - 1, S],
    [S, 2 * S - 1],
    [S - 1, 2 * S],
    [100, 3 * S + 5],
    [3 * S, plainSize - 1],
    [3 * S - 1, 3 * S],
    [2 * S + 17, 2 * S + 17],
    [12345, 54321],
  ];

  it.each(pairs)('emits exactly bytes %i to %i', async (start, end) => {
    const { output, error } = await readRange(sealed, plainSize, start, end);
    expect(error).toBeNull();
    expect(output.equals(plain.subarray(start, end + 1))).toBe(true);
  });

  it('emits exactly the requested bytes for many pseudo-random ranges', async () => {
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % plainSize;
    for (let i = 0; i < 40; i++) {
      const [start, end] = [next(), next()].sort((a, b) => a - b) as [number, number];
      const { output, error } = await readRange(sealed, plainSize, start, end);
      expect(error).toBeNull();
      expect(output.equals(plain.subarray(start, end + 1))).toBe(true);
    }
  });

  it('reads the last byte of an item made of whole segments, whose final segment is full', async () => {
    const whole = randomBytes(2 * S);
    const wholeSealed = await encrypt(whole);
    for (const [start, end] of [[2 * S - 1, 2 * S - 1], [0, 2 * S - 1], [S - 2, S + 1]] as const) {
      const { output, error } = await readRange(wholeSealed, 2 * S, start, end);
      expect(error).toBeNull();
      expect(output.equals(whole.subarray(start, end + 1))).toBe(true);
    }
  });

  it('plans the ciphertext window at segment boundaries', () => {
    expect(planRange(plainSize, S + 10, 2 * S + 10)).toEqual({
      cipherOffset: HEADER_SIZE + SEALED,
      cipherCount: 2 * SEALED,
      firstSegment: 1,
      lastSegment: 2,
      skipBytes: 10,
      takeBytes: S + 1,
    });
    expect(planRange(plainSize, plainSize - 1, plainSize - 1)).toMatchObject({
      cipherOffset: HEADER_SIZE + 3 * SEALED,
      cipherCount: 1000 + TAG_SIZE,
    });
  });

  it('refuses ranges outside the item', () => {
    for (const [start, end] of [[-1, 3], [5, 4], [0, plainSize], [1.5, 3]] as const) {
      expect(() => planRange(plainSize, start, end)).toThrow(RangeError);
    }
    expect(() => planRange(0, 0, 0)).toThrow(RangeError);
  });

  it('when a bit of the window flips, it fails without releasing that segment', async () => {
    const { output, error } = await readRange(sealed, plainSize, 10, 3 * S + 10, (w) => flipBit(w, SEALED + 3));
    expect(codeOf(error)).toBe('integrity_failed');
    expect(output.equals(plain.subarray(10, S))).toBe(true);
  });

  it('when the window is short, it fails', async () => {
    const { error } = await readRange(sealed, plainSize, 0, plainSize - 1, (w) => w.subarray(0, w.length - 1));
    expect(codeOf(error)).toBe('truncated');
    const cutAtBoundary = await readRange(sealed, plainSize, 0, plainSize - 1, (w) => w.subarray(0, 3 * SEALED));
    expect(codeOf(cutAtBoundary.error)).toBe('truncated');
  });

  it('when the window is longer than planned, it fails', async () => {
    const { error } = await readRange(sealed, plainSize, 0, S, (w) => Buffer.concat([w, Buffer.of(1)]));
    expect(codeOf(error)).toBe('integrity_failed');
  });

  it('when the window holds other segments than planned, it fails', async () => {
    const plan = planRange(plainSize, S, S + 10);
    const wrongWindow = sealed.subarray(plan.cipherOffset + SEALED, plan.cipherOffset + 2 * SEALED);
    const { output, error } = await run(createRangeDecryptStream(key, sealed.subarray(0, HEADER_SIZE), plan, 4), wrongWindow);
    expect(codeOf(error)).toBe('integrity_failed');
    expect(output.length).toBe(0);
  });

  it('when the item is shorter than its metadata says, reading its end fails', async () => {
    // The blob lost its final segment; the window that should end the item is a middle segment.
    const plan = planRange(plainSize, 3 * S - 10, 3 * S - 1);
    const lastSurviving = sealed.subarray(plan.cipherOffset, plan.cipherOffset + plan.cipherCount);
    const { error } = await run(createRangeDecryptStream(key, sealed.subarray(0, HEADER_SIZE), plan, 3), lastSurviving);
    expect(codeOf(error)).toBe('integrity_failed');
  });

  it('refuses a bad header at once', () => {
    const plan = planRange(plainSize, 0, 0);
    expect(codeOf(catchError(() => createRangeDecryptStream(key, flipBit(sealed.subarray(0, HEADER_SIZE), 1), plan, 4)))).toBe('bad_header');
  });
});
