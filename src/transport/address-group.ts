import { isIPv6 } from "node:net";

/** Leading 16-bit groups of an IPv6 address that one subscriber is usually given (a /64). */
const IPV6_GROUPS_KEPT = 4;

/** The eight 16-bit groups of an IPv6 address, `::` expanded; undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  if (!isIPv6(address)) return undefined;
  const plain = address.split("%")[0] ?? address;
  const [head = "", tail] = plain.split("::");
  const parse = (part: string): number[] => {
    if (part === "") return [];
    return part.split(":").flatMap((group) => {
      // An embedded IPv4 address (`::ffff:1.2.3.4`) is two groups.
      if (group.includes(".")) {
        const [a = 0, b = 0, c = 0, d = 0] = group.split(".").map(Number);
        return [(a << 8) | b, (c << 8) | d];
      }
      return [Number.parseInt(group, 16)];
    });
  };
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * Who a per-address limit counts a connection against: an IPv4 address itself (an IPv4-mapped IPv6
 * address as IPv4), and for IPv6 its /64, since one subscriber commonly holds a whole /64 and could
 * otherwise take a fresh address for every connection. Loopback counts like any other address.
 */
export function addressGroup(address: string): string {
  const groups = ipv6Groups(address);
  if (groups === undefined) return address;
  if (groups.slice(0, 6).join(":") === "0:0:0:0:0:65535") {
    const [high = 0, low = 0] = groups.slice(6);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return `${groups
    .slice(0, IPV6_GROUPS_KEPT)
    .map((group) => group.toString(16))
    .join(":")}::/64`;
}
