// IP address conditions. AWS: "IpAddress: The specified IP address or range" in RFC 4632 CIDR
// notation, IPv4 or IPv6; an address without a prefix is a single host (/32 or /128).
import { BlockList, isIP } from 'node:net';

/** Parses "a.b.c.d/n", "x::y/n" or a bare address. Returns null when malformed. */
export function parseCidr(s: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const slash = s.indexOf('/');
  const address = slash < 0 ? s : s.slice(0, slash);
  const v = isIP(address);
  if (v === 0) return null;
  const family = v === 4 ? 'ipv4' : 'ipv6';
  const max = v === 4 ? 32 : 128;
  if (slash < 0) return { address, prefix: max, family };
  const p = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p) || +p > max) return null;
  return { address, prefix: +p, family };
}

/** A set of CIDR ranges; IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 ranges. */
export class CidrSet {
  private readonly list = new BlockList();

  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const r = parseCidr(c);
      if (!r) throw new RangeError(`invalid CIDR ${c}`);
      this.list.addSubnet(r.address, r.prefix, r.family);
    }
  }

  has(ip: string): boolean {
    const v = isIP(ip);
    if (v === 0) return false;
    return this.list.check(ip, v === 4 ? 'ipv4' : 'ipv6');
  }
}
