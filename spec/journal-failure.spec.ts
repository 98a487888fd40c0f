import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { SwUpgradeResultNotify, UpgradeRouter } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { CALLBACK_PATH, fresh, mountedApp } from './helpers';
import { fillUp, tempFolder } from './support/journal';
import { until } from './support/wait';

const push = (): SwUpgradeResultNotify => ({ ...fresh('success'), deviceId: randomUUID() });

// A real full disk: a small tmpfs. CI runs as root, where a read-only file or a deleted folder does
// not stop SQLite from writing; a file system with no space left does.
describe('a journal on a disk that fills up', function () {
  let folder: ReturnType<typeof tempFolder>;
  let disk: string;
  let routers: UpgradeRouter[] = [];
  let mounted = false;

  before(function () {
    folder = tempFolder('disk-full-');
    disk = join(folder.dir, 'small-disk');
    mkdirSync(disk);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk], { stdio: 'pipe' });
      mounted = true;
    } catch (error) {
      // Only root may mount; CI runs as root.
      console.log(`      skipped: cannot mount a tmpfs here (${String(error).split('\n')[0]})`);
      folder.remove();
      this.skip();
    }
  });
  after(() => {
    if (!mounted) return;
    try {
      execFileSync('umount', [disk]);
    } finally {
      folder.remove();
    }
  });
  afterEach(async () => {
    for (const router of routers) await router.close(1000);
    routers = [];
    for (const file of ['upgrades.db', 'upgrades.db-wal', 'upgrades.db-shm', 'upgrades.db-receiver.lock', 'upgrades.db.spill', 'filler']) rmSync(join(disk, file), { force: true, recursive: true });
  });

  const mount = (options: Parameters<typeof mountedApp>[0] = {}) => {
    const mounted = mountedApp({ journal: sqliteJournal({ path: join(disk, 'upgrades.db') }), ...options });
    routers.push(mounted.upgrades);
    const delivered: string[] = [];
    const errors: string[] = [];
    mounted.upgrades.on('upgradeResult', (notification) => void delivered.push(notification.deviceId));
    mounted.upgrades.on('error', (error) => void errors.push(error.message));
    return { ...mounted, delivered, errors };
  };

  it('answers 200 and delivers from memory while the disk is full, then journals again once there is room', async () => {
    const { app, upgrades, delivered, errors } = mount();
    const before = push();
    await request(app).post(CALLBACK_PATH).send(before).expect(200);
    fillUp(join(disk, 'filler'));

    const whileFull = Array.from({ length: 5 }, push);
    for (const notification of whileFull) await request(app).post(CALLBACK_PATH).send(notification).expect(200);
    await until(() => whileFull.every((notification) => delivered.includes(notification.deviceId)), 'the pushes to be delivered from memory');
    assert.ok(errors.length >= 5, `${errors.length} errors reported`);
    // The spill folder is on the same full disk: it cannot keep them either, and says so.
    assert.match(errors.join('\n'), /the sqlite journal could not record a push \(delivered from memory, once\): .*(full|disk)/i);
    assert.match(errors.join('\n'), /the spill folder .* could not keep 1 pushes either: ENOSPC/);
    assert.ok((upgrades.stats().journal?.errors ?? 0) >= 5);

    rmSync(join(disk, 'filler'));
    const after = push();
    const errorsBefore = errors.length;
    await request(app).post(CALLBACK_PATH).send(after).expect(200);
    await until(() => delivered.includes(after.deviceId), 'the push after the disk has room again');
    assert.equal(errors.length, errorsBefore, 'the journal is used again without error');
    const { commits, committed } = upgrades.stats().journal ?? { commits: 0, committed: 0 };
    assert.deepEqual([commits, committed], [2, 2], 'the pushes before and after were committed');
  });

  it("with onJournalError 'refuse', answers 503 while the disk is full, so that the platform sends the push again", async () => {
    const { app, upgrades, delivered, errors } = mount({ onJournalError: 'refuse' });
    fillUp(join(disk, 'filler'));
    const notification = push();
    await request(app).post(CALLBACK_PATH).send(notification).expect(503);
    assert.equal(delivered.length, 0, 'a refused push is not delivered (it will come again)');
    assert.equal(upgrades.stats().journal?.refused, 1);
    rmSync(join(disk, 'filler'));
    assert.match(errors.join('\n'), /answered 503: the platform will send it again/);
    await request(app).post(CALLBACK_PATH).send(notification).expect(200);
    await until(() => delivered.includes(notification.deviceId), 'the re-sent push');
  });
});
