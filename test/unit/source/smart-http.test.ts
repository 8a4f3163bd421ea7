import { describe, expect, it } from 'vitest';
import { pktPieces } from '../../../shared/source/smart-http.ts';

function pkt(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0')), payload]);
}

async function* chunked(bytes: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let pos = 0;
  for (let i = 0; pos < bytes.length; i++) {
    const size = sizes[i % sizes.length] as number;
    yield bytes.subarray(pos, pos + size);
    pos += size;
  }
}

async function collect(stream: AsyncIterable<Buffer>): Promise<(number | string)[]> {
  const out: (number | string)[] = [];
  for await (const packet of pktPieces(stream)) {
    out.push(typeof packet === 'number' ? packet : Buffer.concat(packet).toString('latin1'));
  }
  return out;
}

describe('pktPieces', () => {
  const big = Buffer.alloc(65_000, 'p');
  const stream = Buffer.concat([
    pkt(Buffer.from('shallow-info\n')),
    Buffer.from('0001'),
    pkt(Buffer.concat([Buffer.from([1]), big])),
    pkt(Buffer.alloc(0)),
    Buffer.from('0002'),
    Buffer.from('0000'),
  ]);
  const expected = ['shallow-info\n', 1, `\u0001${big.toString('latin1')}`, '', 2, 0];

  it.each([[[1]], [[3]], [[4096]], [[2, 7, 65_536]], [[stream.length]]])(
    'splits the same packets whatever the socket chunks (%j bytes at a time)',
    async (sizes) => {
      expect(await collect(chunked(stream, sizes))).toEqual(expected);
    },
  );

  it('hands a packet spanning chunks over as pieces of them, not a copy', async () => {
    const packets: (number | Buffer[])[] = [];
    for await (const packet of pktPieces(chunked(stream, [30_000]))) packets.push(packet);
    expect((packets[2] as Buffer[]).length).toBeGreaterThan(1);
  });

  it('calls a stream that ends inside a packet a broken connection, and a bad length malformed', async () => {
    await expect(collect(chunked(stream.subarray(0, 100), [50]))).rejects.toMatchObject({
      code: 'ECONNRESET',
    });
    await expect(collect(chunked(Buffer.from('00zz'), [4]))).rejects.toMatchObject({
      code: 'SmartHttpError',
    });
    await expect(collect(chunked(Buffer.from('0003'), [4]))).rejects.toMatchObject({
      code: 'SmartHttpError',
    });
  });
});
