import type { SkipReason } from './decoded.js';

/**
 * Layer decoders return an offset (>= 0) on success or one of these negative codes, so the
 * per-packet path passes plain numbers around and the reason string is looked up only once.
 */
export const SKIP_UNKNOWN_LINKTYPE = -1;
export const SKIP_TRUNCATED_LINK = -2;
export const SKIP_NON_IP = -3;
export const SKIP_TRUNCATED_IP = -4;
export const SKIP_BAD_IP = -5;
export const SKIP_BAD_IPV6_EXT = -6;
export const SKIP_IP_FRAGMENT = -7;
export const SKIP_TRUNCATED_TRANSPORT = -8;
export const SKIP_BAD_TRANSPORT = -9;

/** Index with -code - 1. */
export const SKIP_REASONS: readonly SkipReason[] = [
  'unknown-linktype',
  'truncated-link-header',
  'non-ip',
  'truncated-ip-header',
  'bad-ip-header',
  'bad-ipv6-extension',
  'ip-fragment',
  'truncated-transport-header',
  'bad-transport-header',
];

export function skipReasonOf(code: number): SkipReason {
  return SKIP_REASONS[-code - 1];
}
