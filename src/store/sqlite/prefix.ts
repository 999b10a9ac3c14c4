// Prefix ranges for SQLite. A LIKE pattern would treat '%' and '_' in keys as
// wildcards, so prefixes become a key range [prefix, prefixEnd(prefix)) that the
// key index answers directly. SQLite's BINARY collation compares TEXT as UTF-8
// bytes, which orders strings by code point; prefixEnd works in code points too.

/** A BLOB sorts after every TEXT value in SQLite, so it bounds "no upper end". */
const AFTER_ALL_TEXT = new Uint8Array([0xff]);

/**
 * The smallest string greater than every string that starts with prefix, or the
 * AFTER_ALL_TEXT sentinel when there is none (empty prefix, or only U+10FFFF).
 */
export function prefixEnd(prefix: string): string | Uint8Array {
  const codePoints = Array.from(prefix, (c) => c.codePointAt(0) as number);
  while (codePoints.length > 0) {
    let last = codePoints.pop() as number;
    if (last < 0x10ffff) {
      last += 1;
      // Surrogates cannot be encoded as UTF-8; the next code point after them is U+E000.
      if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
      codePoints.push(last);
      return String.fromCodePoint(...codePoints);
    }
  }
  return AFTER_ALL_TEXT;
}
