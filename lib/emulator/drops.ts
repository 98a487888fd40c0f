// The dropPushes fault: pushes lost on the platform's side, never sent. One set of drops for both
// platforms' pushes (the legacy ones by notifyType, IoTDA's task pushes as `batchtask`): the next
// `times` pushes, or a share of them drawn from the seed until the faults are cleared.

type Share = { ratio: number; notifyType: string | undefined; random: () => number };
export type ArmedDrop = { kind: 'dropPushes'; times?: number; ratio?: number; notifyType?: string; left: number | null };

export class PushDrops {
  #next = 0;
  #share: Share | undefined;

  /** The next `count` pushes are lost. */
  drop(count: number): void {
    this.#next += count;
  }

  /** `ratio` of the pushes (of `notifyType`, when given) are lost, drawn from `random`; undefined: none again. */
  share(share: Share | undefined): void {
    this.#share = share;
  }

  /** Whether the push of this type is lost (a counted drop is spent on it). */
  take(notifyType: string): boolean {
    const share = this.#share;
    if (share !== undefined && (share.notifyType === undefined || share.notifyType === notifyType) && share.random() < share.ratio) return true;
    if (this.#next === 0) return false;
    this.#next -= 1;
    return true;
  }

  /** The drops armed now: a count of next pushes, a share until cleared (`left: null`). */
  armed(): ArmedDrop[] {
    const armed: ArmedDrop[] = [];
    if (this.#next > 0) armed.push({ kind: 'dropPushes', times: this.#next, left: this.#next });
    const share = this.#share;
    if (share !== undefined) armed.push({ kind: 'dropPushes', ratio: share.ratio, ...(share.notifyType !== undefined && { notifyType: share.notifyType }), left: null });
    return armed;
  }
}
