// Pushes as the platform sends them (platform.md, "What the platform does with the answer"): a POST
// of pretty-printed JSON to the subscribed callback URL; no answer within 15 s, or 501-504, is a
// failed push; a failed push is kept 10 minutes and re-sent; after 10 failures in a row the callback
// URL is marked invalid and only probed until it answers again. Any other answer ends the push
// (the platform retries nothing else), 200 or not: what it was is recorded.
import { Agent, request } from 'undici';
import type { EmulatedClock } from './clock';
import type { UpgradePush } from './tasks';
import type { PushDrops } from './drops';

export type PushStatus = 'pending' | 'delivered' | 'failed' | 'dropped';

export interface PushRecord {
  id: number;
  appId: string;
  callbackUrl: string;
  notifyType: UpgradePush['notifyType'];
  deviceId: string;
  operationId: string;
  subOperationId: string;
  body: UpgradePush;
  /** pending (sending or waiting for a re-send), delivered (answered), failed (given up after the re-send window), dropped (a fault). */
  status: PushStatus;
  attempts: number;
  /** Emulated epoch milliseconds. */
  createdAt: number;
  answeredAt?: number;
  /** The HTTP status of the answer that ended it. */
  answer?: number;
  lastError?: string;
}

export interface CallbackState {
  url: string;
  state: 'valid' | 'invalid';
  /** Failed pushes in a row. */
  failures: number;
  /** Pushes waiting to be sent (first tries, re-sends due, those held while the URL is invalid). */
  waiting: number;
  inFlight: number;
}

export interface PushRules {
  /** 15 s, of real time whatever the emulator's speed: a receiver answers in real time. */
  timeoutMs: number;
  /** 10 minutes: a push not answered by then is given up. */
  keepMs: number;
  /** The wait between two tries of one push, and between two probes of an invalid URL (60 s: not published). */
  resendMs: number;
  /** 10 failures in a row mark the URL invalid. */
  invalidAfter: number;
  /** Pushes in flight to one callback URL at once (not published). */
  concurrency: number;
}

export const DEFAULT_PUSH_RULES: PushRules = { timeoutMs: 15_000, keepMs: 600_000, resendMs: 60_000, invalidAfter: 10, concurrency: 16 };

const FAILED_ANSWERS = new Set([501, 502, 503, 504]);

interface Callback extends Omit<CallbackState, 'waiting'> {
  /** Pushes to send, first tries and re-sends that fell due, in order. */
  ready: PushRecord[];
  probing: boolean;
}

export class Pusher {
  readonly records: PushRecord[] = [];
  readonly #callbacks = new Map<string, Callback>();
  readonly #dispatcher: Agent;

  constructor(
    private readonly clock: EmulatedClock,
    private readonly rules: PushRules,
    /** The CA that signed the receivers' certificates (what is uploaded to the platform per callback address). */
    ca: string | Buffer | undefined,
    private readonly drops: PushDrops,
  ) {
    this.#dispatcher = new Agent({ connect: { ...(ca !== undefined && { ca }) } });
  }

  send(appId: string, callbackUrl: string, body: UpgradePush): void {
    const record: PushRecord = {
      id: this.records.length + 1,
      appId,
      callbackUrl,
      notifyType: body.notifyType,
      deviceId: body.deviceId,
      operationId: body.operationId,
      subOperationId: body.subOperationId,
      body,
      status: 'pending',
      attempts: 0,
      createdAt: this.clock.now(),
    };
    this.records.push(record);
    if (this.drops.take(record.notifyType)) {
      record.status = 'dropped';
      return;
    }
    const callback = this.#callback(callbackUrl);
    callback.ready.push(record);
    this.#pump(callback);
  }

  callbacks(): CallbackState[] {
    return [...this.#callbacks.values()].map(({ url, state, failures, ready, inFlight }) => ({ url, state, failures, waiting: ready.length, inFlight }));
  }

  /** Pushes not yet ended (waiting, in flight or due for a re-send). */
  pending(): number {
    return this.records.filter((record) => record.status === 'pending').length;
  }

  async close(): Promise<void> {
    await this.#dispatcher.destroy();
  }

  #callback(url: string): Callback {
    let callback = this.#callbacks.get(url);
    if (callback === undefined) {
      callback = { url, state: 'valid', failures: 0, inFlight: 0, ready: [], probing: false };
      this.#callbacks.set(url, callback);
    }
    return callback;
  }

  #pump(callback: Callback): void {
    if (callback.state === 'invalid') return this.#probeLater(callback);
    while (callback.inFlight < this.rules.concurrency) {
      const record = callback.ready.shift();
      if (record === undefined) return;
      this.#start(callback, record);
    }
  }

  #start(callback: Callback, record: PushRecord): void {
    // #attempt catches what the request throws; anything else is a bug, kept visible on the record.
    this.#attempt(callback, record).catch((error: unknown) => {
      record.status = 'failed';
      record.lastError = String(error);
    });
  }

  async #attempt(callback: Callback, record: PushRecord): Promise<void> {
    callback.inFlight += 1;
    record.attempts += 1;
    const failure = await this.#post(record);
    callback.inFlight -= 1;
    if (failure === undefined) {
      callback.failures = 0;
      if (callback.state === 'invalid') callback.state = 'valid';
    } else {
      record.lastError = failure;
      callback.failures += 1;
      if (callback.failures >= this.rules.invalidAfter) callback.state = 'invalid';
      if (this.clock.now() + this.rules.resendMs - record.createdAt > this.rules.keepMs) record.status = 'failed';
      else
        this.clock.after(this.rules.resendMs, () => {
          callback.ready.push(record);
          this.#pump(callback);
        });
    }
    this.#pump(callback);
  }

  /** An invalid URL gets one push at a time, every `resendMs`, until one is answered. */
  #probeLater(callback: Callback): void {
    if (callback.probing) return;
    callback.probing = true;
    this.clock.after(this.rules.resendMs, () => {
      callback.probing = false;
      const now = this.clock.now();
      // What waited past the re-send window is given up, probe or not.
      for (const record of callback.ready.filter((held) => now - held.createdAt > this.rules.keepMs)) record.status = 'failed';
      callback.ready = callback.ready.filter((held) => held.status === 'pending');
      const probe = callback.ready.shift();
      if (probe !== undefined && callback.inFlight === 0) this.#start(callback, probe);
      else {
        if (probe !== undefined) callback.ready.unshift(probe);
        if (callback.ready.length > 0 || callback.inFlight > 0) this.#probeLater(callback);
      }
    });
  }

  /** Undefined when the push is answered (whatever the status), else why it failed. */
  async #post(record: PushRecord): Promise<string | undefined> {
    // Real time: at speed 60 an emulated 15 s would be 250 ms, and a receiver answering in 400 ms would
    // be sent every push again, where the platform counts none of them failed.
    const timeout = this.rules.timeoutMs;
    try {
      const answer = await request(record.callbackUrl, {
        method: 'POST',
        // As the platform writes it: JSON, UTF-8, pretty-printed.
        headers: { 'content-type': 'application/json;charset=UTF-8' },
        body: JSON.stringify(record.body, null, 4),
        dispatcher: this.#dispatcher,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.timeout(timeout),
      });
      await answer.body.dump();
      if (FAILED_ANSWERS.has(answer.statusCode)) return `HTTP ${answer.statusCode}`;
      record.status = 'delivered';
      record.answer = answer.statusCode;
      record.answeredAt = this.clock.now();
      return undefined;
    } catch (error) {
      const { name, code, message } = error as { name?: string; code?: unknown; message?: string };
      const timedOut = name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
      return timedOut ? `no answer within ${this.rules.timeoutMs / 1000} s` : typeof code === 'string' ? code : String(message);
    }
  }
}
