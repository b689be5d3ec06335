/** When to ask for a new token, and what a token says about its own expiry. */

/** The `exp` of a JWT, in ms since the epoch; undefined when it has none or is not a JWT. */
export function expiryOf(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    // base64url to base64; atob ignores missing padding in browsers and Node alike.
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long to wait before refreshing a token that expires at `expiresAt`: `marginMs`
 * before it, but never later than half its remaining life, so that a short-lived token
 * is still refreshed with time for a retry.
 */
export function refreshDelay(expiresAt: number, now: number, marginMs: number): number {
  const remaining = expiresAt - now;
  return Math.max(0, remaining - Math.min(marginMs, remaining / 2));
}
