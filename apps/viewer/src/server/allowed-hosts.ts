import { isIPv4, isIPv6 } from 'node:net';

/**
 * The Host header names a viewer server always answers (with its port). A web page that gets its own
 * host name resolved to 127.0.0.1 (DNS rebinding) sends its own name as Host, so checking the Host
 * header keeps such a page from reading the run logs and checkpoints.
 */
export const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'] as const;

/** Whether binding to `address` serves this machine only (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase();
  return a === 'localhost' || a === '::1' || (isIPv4(a) && a.startsWith('127.'));
}

/** Whether binding to `address` serves every network interface (0.0.0.0, ::). */
export function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** `address` as it is written in a URL or Host header: IPv6 addresses in brackets. */
export function urlHostName(address: string): string {
  return isIPv6(address) ? `[${address}]` : address;
}

/**
 * The Host headers a server bound to `bound.host` on `bound.port` answers: LOOPBACK_NAMES and the
 * bound address, with the port (lower case); null for 0.0.0.0 and ::, where any Host is accepted since
 * the user asked to serve everything.
 */
export function allowedHosts(bound: { host: string; port: number }): string[] | null {
  if (isWildcardAddress(bound.host)) return null;
  const names = [...LOOPBACK_NAMES, urlHostName(bound.host)];
  return [...new Set(names.map((name) => `${name}:${bound.port}`.toLowerCase()))];
}

/** Whether a request's Host header is one of allowedHosts(bound) (case-insensitive); a missing one is not. */
export function isAllowedHost(header: string | undefined, bound: { host: string; port: number }): boolean {
  const allowed = allowedHosts(bound);
  return allowed === null || (header !== undefined && allowed.includes(header.toLowerCase()));
}
