// Keys in etcd: Skiff's store keys under a prefix (kube-apiserver's --etcd-prefix), compared as
// bytes as etcd compares them. A prefix range is [key, end) where end is the key with its last
// byte below 0xff incremented (etcd's clientv3.GetPrefixRangeEnd).

export function rangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  // Every byte is 0xff (or the prefix is empty): no upper bound, which etcd spells as "\0".
  return Buffer.from([0]);
}

export class KeyCodec {
  private readonly prefix: Buffer;
  constructor(prefix: string) {
    this.prefix = Buffer.from(prefix);
  }

  encode(key: string): Buffer {
    return Buffer.concat([this.prefix, Buffer.from(key)]);
  }

  decode(key: Buffer): string {
    return key.subarray(this.prefix.length).toString();
  }
}
