/**
 * The phone number as every answer the kit builds shows it: `13812345678` → `138****5678`. The
 * full number goes only to the app's own code (`onPhoneNumber`, `auth.phoneNumber()`'s result).
 */

/** `13812345678` → `138****5678`; shorter numbers keep only their last 2 digits. */
export function maskPhoneNumber(phone: string): string {
  const s = String(phone)
  if (s.length >= 8) return s.slice(0, 3) + '*'.repeat(s.length - 7) + s.slice(-4)
  return '*'.repeat(Math.max(0, s.length - 2)) + s.slice(-2)
}
