/** The delivery options' defaults that time the retries (the rest are in delivery.ts). */
export const DEFAULT_DELIVERY_TIMING = { attempts: 21, backoffMs: 1000, maxBackoffMs: 5 * 60_000 } as const;
