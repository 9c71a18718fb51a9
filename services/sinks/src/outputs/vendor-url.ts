/**
 * The URL of a vendor API's endpoint under a base URL: the region's host, or
 * a user's `url` (a proxy with a path prefix, a test server).
 */
import { SinksOptionsError } from '../errors.js';

/** `base` (http or https, its path kept as a prefix) + `endpoint`; a bad base names `option`. */
export function vendorUrl(option: string, base: string, endpoint: string): string {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new SinksOptionsError(option, `not a URL: ${JSON.stringify(base)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new SinksOptionsError(option, `expected http:// or https://, got ${u.protocol}`);
  }
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${endpoint}`;
  return u.href;
}
