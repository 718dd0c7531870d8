/**
 * A 64-bit digest of some bytes, to tell whether they changed since the last look: two FNV-1a lanes over the
 * same bytes, one with the FNV prime and offset, one with another odd multiplier and seed, so a change that
 * leaves one lane as it was still changes the other. Not a cryptographic hash: nothing here stands against a
 * party that crafts collisions, and nothing that uses it needs to. What it saves is `node:crypto`, whose
 * module graph (every cipher, key and certificate class) is a couple of megabytes in each process that loads
 * it.
 */
export function changeDigest(data: Uint8Array | string): string {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let a = 0x811c9dc5;
  let b = 0x6a09e667;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    a = Math.imul(a ^ byte, 0x01000193);
    b = Math.imul(b ^ byte, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return `${(a >>> 0).toString(16).padStart(8, '0')}${(b >>> 0).toString(16).padStart(8, '0')}:${bytes.length}`;
}
