// @runtime-seam: the native SQLite addon under SIGKILL
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SwUpgradeResultNotify } from 'huawei-iot-upgrade-router';
import { fresh } from './helpers';
import { tempFolder } from './support/journal';
import { until } from './support/wait';
import { ReceiverProcess } from './support/receiver-process';

const push = (): SwUpgradeResultNotify => ({ ...fresh('success'), deviceId: randomUUID() });

describe('SIGKILL: with a journal, nothing answered 200 is lost', function () {
  this.timeout(60_000);
  let folder: ReturnType<typeof tempFolder>;
  let out: string;
  let db: string;
  const processes: ReceiverProcess[] = [];

  beforeEach(() => {
    folder = tempFolder('crash-');
    out = join(folder.dir, 'results.txt');
    db = join(folder.dir, 'upgrades.db');
  });
  afterEach(async () => {
    for (const receiver of processes.splice(0)) await receiver.kill();
    folder.remove();
  });

  const start = async (env: Record<string, string>): Promise<ReceiverProcess> => {
    const receiver = await ReceiverProcess.start({ OUT_FILE: out, ...env });
    processes.push(receiver);
    return receiver;
  };
  /** What the listeners wrote, one line per delivery. */
  const written = (): string[] => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((line) => line !== '') : []);
  /** Sends `count` pushes at once; the deviceIds of those answered 200. */
  const burst = async (receiver: ReceiverProcess, count: number): Promise<string[]> => {
    const answered: string[] = [];
    await Promise.all(
      Array.from({ length: count }, async () => {
        const notification = push();
        if ((await receiver.post(notification)) === 200) answered.push(notification.deviceId);
      }),
    );
    return answered;
  };

  /** Sends one push to `receiver` and waits until its listener has written it; the marker is then removed. */
  async function deliveredMarker(receiver: ReceiverProcess): Promise<void> {
    const marker = push();
    assert.equal(await receiver.post(marker), 200);
    await until(() => written().includes(marker.deviceId), 'the marker push to be written');
    writeFileSync(out, written().filter((id) => id !== marker.deviceId).map((id) => `${id}\n`).join(''));
  }

  async function killedMidWork(journal: string): Promise<{ answered: string[]; delivered: string[] }> {
    const first = await start({ JOURNAL: journal, DELAY_MS: '5000' });
    const answered = await burst(first, 50);
    assert.equal(answered.length, 50, 'every push was answered 200');
    await first.kill();
    assert.deepEqual(written(), [], 'the kill came before any listener finished');
    const restarted = await start({ JOURNAL: journal, DELAY_MS: '0' });
    if (journal !== 'none') await until(() => answered.every((id) => written().includes(id)), 'every answered push to be written');
    // Without a journal nothing is left to deliver: the restarted receiver answers a push of its own
    // and delivers it (DELAY_MS 0), and anything of the first burst would have been written before it.
    else await deliveredMarker(restarted);
    return { answered, delivered: written() };
  }

  it('a burst answered 200 and killed before its listeners finished is delivered after the restart', async () => {
    const { answered, delivered } = await killedMidWork(`sqlite:${db}`);
    assert.deepEqual(
      answered.filter((id) => !delivered.includes(id)),
      [],
    );
    const twice = delivered.length - new Set(delivered).size;
    console.log(`      crash: ${answered.length} answered 200, killed; after the restart ${new Set(delivered).size} delivered, ${twice} of them twice`);
  });

  it('control: the same kill without a journal loses every one of them', async () => {
    const { answered, delivered } = await killedMidWork('none');
    assert.equal(answered.length, 50);
    assert.deepEqual(delivered, []);
  });

  it('SIGKILL at random moments while pushes keep arriving: every push answered 200 is delivered', async () => {
    const journal = `sqlite:${db}`;
    const answered: string[] = [];
    let kills = 0;
    for (let round = 0; round < 4; round += 1) {
      const receiver = await start({ JOURNAL: journal, DELAY_MS: '20' });
      let sending = true;
      const before = answered.length;
      // Eight senders, each pushing as fast as it is answered, until the process is gone.
      const senders = Array.from({ length: 8 }, async () => {
        while (sending) {
          const notification = push();
          const status = await receiver.post(notification);
          if (status === 200) answered.push(notification.deviceId);
          if (status === undefined) return;
        }
      });
      // A random moment, counted in answers rather than milliseconds: a busy machine answers fewer
      // pushes a second, never fewer before the kill.
      const killAfter = 30 + Math.floor(Math.random() * 70);
      await until(() => answered.length - before >= killAfter, () => `${killAfter} answers in round ${round + 1} (${answered.length - before} so far)`);
      await receiver.kill();
      kills += 1;
      sending = false;
      await Promise.all(senders);
    }
    await start({ JOURNAL: journal, DELAY_MS: '0' });
    await until(() => {
      const delivered = new Set(written());
      return answered.every((id) => delivered.has(id));
    }, `${answered.length} answered pushes to be delivered`);
    const delivered = written();
    console.log(
      `      random kills: ${kills} SIGKILLs, ${answered.length} pushes answered 200, all delivered (${delivered.length - new Set(delivered).size} twice)`,
    );
    assert.ok(answered.length > 100, `only ${answered.length} pushes were answered: the test did not exercise the journal`);
  });

  it('a listener that kills the process ends dead after its attempts, instead of crashing it for ever', async () => {
    const env = { JOURNAL: `sqlite:${db}`, ATTEMPTS: '3' };
    let crashes = 0;
    const poisoned = await start(env);
    await poisoned.post({ ...push(), deviceId: 'poison' });
    await poisoned.exited();
    crashes += 1;
    // Each restart takes the entry again (a later attempt), until none is left.
    for (let restart = 0; restart < 5 && !written().includes('dead poison'); restart += 1) {
      const receiver = await start(env);
      await Promise.race([receiver.exited().then(() => (crashes += 1)), until(() => written().includes('dead poison'), 'the dead letter').catch(() => {})]);
    }
    assert.deepEqual(written(), ['dead poison']);
    assert.equal(crashes, 3);
  });
});
