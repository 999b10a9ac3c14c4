// dns-packet writes every name in full. Most of an answer is its owner names, which nearly
// always repeat the question's name (all the A records of a headless Service), so records
// whose owner is byte-for-byte the question name get a pointer to it instead (RFC 1035 4.1.4
// message compression): an A record shrinks from ~50 to 16 bytes and a 512-byte UDP answer
// holds three times as many. Record data is left as it is.

/** Offset just past the (possibly compressed) name at offset. */
function skipName(buf: Buffer, offset: number): number {
  let o = offset;
  for (;;) {
    if (o >= buf.length) throw new Error('name runs past the end of the message');
    const len = buf[o];
    if ((len & 0xc0) === 0xc0) return o + 2;
    if (len === 0) return o + 1;
    o += len + 1;
  }
}

/** msg with owner names equal to the question's name replaced by a pointer to it. */
export function compressOwnerNames(msg: Buffer): Buffer {
  const qdcount = msg.readUInt16BE(4);
  const rrcount = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  if (qdcount !== 1 || rrcount === 0) return msg;
  const qnameEnd = skipName(msg, 12);
  const qname = msg.subarray(12, qnameEnd);
  if (qname.length <= 2) return msg; // the root name is one byte: nothing to gain
  const pointer = Buffer.from([0xc0, 12]);
  const parts: Buffer[] = [msg.subarray(0, qnameEnd + 4)];
  let o = qnameEnd + 4;
  for (let i = 0; i < rrcount; i++) {
    const nameEnd = skipName(msg, o);
    const owner = msg.subarray(o, nameEnd);
    parts.push(owner.equals(qname) ? pointer : owner);
    const rdlength = msg.readUInt16BE(nameEnd + 8);
    const end = nameEnd + 10 + rdlength;
    if (end > msg.length) throw new Error('record runs past the end of the message');
    parts.push(msg.subarray(nameEnd, end));
    o = end;
  }
  return Buffer.concat(parts);
}
