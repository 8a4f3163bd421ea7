/** Random resource ids in the alphabets AWS uses for them. */
import { randomBytes } from 'node:crypto';

const ALPHABETS = {
  /** Cloud Map (`srv-…`), API Gateway (API, integration and route ids). */
  lowercase: 'abcdefghijklmnopqrstuvwxyz0123456789',
  /** ELB resource ids (the last part of a target group or rule ARN). */
  hex: '0123456789abcdef',
} as const;

/** `length` random characters of the alphabet. */
export function randomId(length: number, alphabet: keyof typeof ALPHABETS = 'lowercase'): string {
  const chars = ALPHABETS[alphabet];
  return [...randomBytes(length)].map((b) => chars[b % chars.length]).join('');
}
