import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_TASK_DEVICES, planRollout, type RolloutPlan } from 'huawei-iot-upgrade-router/rollout';
import { runBin, tempFolder } from './support/journal';

const fleet = (n: number): string[] => Array.from({ length: n }, (_, i) => `meter-${String(i).padStart(5, '0')}`);
const sizes = (plan: RolloutPlan): number[] => plan.waves.map((wave) => wave.devices.length);

describe('a rollout plan: waves, platform tasks and calls, without a call', () => {
  it('10 000 meters, 1 % -> 10 % -> 50 % -> 100 %: every device in exactly one wave, no task over 256 devices', () => {
    const devices = fleet(10_000);
    const plan = planRollout({ fileId: 'fw-2.1', devices, waves: ['1%', '10%', '50%', '100%'] });
    assert.deepEqual(sizes(plan), [100, 900, 4000, 5000]);
    assert.deepEqual(
      plan.waves.map((wave) => wave.reach),
      [100, 1000, 5000, 10_000],
    );
    const targeted = plan.waves.flatMap((wave) => wave.tasks.flat());
    assert.equal(targeted.length, 10_000);
    assert.deepEqual([...new Set(targeted)].sort(), [...devices].sort());
    const tasks = plan.waves.flatMap((wave) => wave.tasks);
    assert.ok(tasks.every((task) => task.length >= 1 && task.length <= MAX_TASK_DEVICES));
    // 1 + 4 + 16 + 20 tasks of at most 256.
    assert.deepEqual([plan.tasks, tasks.length, plan.calls.create], [41, 41, 41]);
    assert.equal(plan.calls.verify, tasks.reduce((sum, task) => sum + 1 + 2 * Math.ceil(task.length / 100), 0));
    assert.equal(plan.calls.minutes, Math.ceil((plan.calls.create + plan.calls.verify) / 50));
  });

  it('draws the same waves from the same seed whatever the list order, other waves from another seed; "given" keeps the order', () => {
    const devices = fleet(500);
    const canary = (plan: RolloutPlan): string[] => plan.waves[0]?.devices ?? [];
    const one = planRollout({ fileId: 'f', devices, waves: [20], order: 7 });
    const reversed = planRollout({ fileId: 'f', devices: [...devices].reverse(), waves: [20], order: 7 });
    const other = planRollout({ fileId: 'f', devices, waves: [20], order: 8 });
    assert.deepEqual(canary(one), canary(reversed));
    assert.notDeepEqual(canary(one), canary(other));
    assert.notDeepEqual(canary(one), devices.slice(0, 20), 'a seed draws from the whole list, not its head');
    assert.deepEqual(canary(planRollout({ fileId: 'f', devices, waves: [20], order: 'given' })), devices.slice(0, 20));
    // The last wave always reaches every device.
    assert.deepEqual(sizes(one), [20, 480]);
  });

  it('a small fleet: shares round up, a wave that would add nobody is left out and counted, a device listed twice is targeted once', () => {
    const plan = planRollout({ fileId: 'f', devices: [...fleet(5), 'meter-00001'], waves: ['1%', '10%', '50%', '100%'] });
    assert.deepEqual(sizes(plan), [1, 2, 2]);
    assert.deepEqual([plan.devices, plan.duplicates, plan.emptyWaves], [5, 1, 1]);
    assert.deepEqual(sizes(planRollout({ fileId: 'f', devices: fleet(600), waves: [{ count: 10 }, { share: 0.5 }], taskSize: 100 })), [10, 290, 300]);
    assert.deepEqual(
      planRollout({ fileId: 'f', devices: fleet(600), waves: [{ count: 10 }, { share: 0.5 }], taskSize: 100 }).waves.map((wave) => wave.tasks.map((task) => task.length)),
      [[10], [100, 100, 90], [100, 100, 100]],
    );
  });

  it('refuses what cannot be run, with ERR_INVALID_OPTION and the nearest name', () => {
    const refused = (options: unknown, message: RegExp): void =>
      assert.throws(
        () => planRollout(options as never),
        (error: unknown) => error instanceof TypeError && (error as TypeError & { code?: unknown }).code === 'ERR_INVALID_OPTION' && message.test(error.message),
        String(message),
      );
    refused({ fileId: 'f', devices: fleet(10), wave: [1] }, /unknown option wave: did you mean waves\?/);
    refused({ fileId: 'f', devices: [] }, /devices is empty/);
    refused({ devices: fleet(10) }, /fileId is required/);
    refused({ fileId: 'f', devices: fleet(10), waves: ['50%', '10%'] }, /waves must reach more devices each time: wave 2 reaches 1, wave 1 5/);
    refused({ fileId: 'f', devices: fleet(10), waves: ['10 percent'] }, /a share is written like '10%'/);
    refused({ fileId: 'f', devices: fleet(10), waves: [0] }, /a whole number of at least 1/);
    refused({ fileId: 'f', devices: fleet(10), taskSize: 257 }, /taskSize must be a whole number from 1 to 256/);
    refused({ fileId: 'f', devices: ['a', ''] }, /devices\[1\] must be a non-empty string/);
  });

  describe('the rollout plan command', () => {
    let folder: ReturnType<typeof tempFolder>;
    let list: string;
    before(() => {
      folder = tempFolder('rollout-');
      list = join(folder.dir, 'devices.txt');
      writeFileSync(list, `# the meters of site A\n${fleet(1000).join('\n')}\nmeter-00005\n`);
    });
    after(() => folder.remove());

    it('prints the waves, the tasks and the calls, and the same plan as JSON', async () => {
      const text = await runBin(['rollout', 'plan', '--file-id', 'fw-2.1', '--devices', list, '--waves', '20,10%,50%,100%']);
      assert.equal(text.code, 0, text.stderr);
      assert.deepEqual(text.stdout.trimEnd().split('\n'), [
        'rollout of fw-2.1 to 1000 devices in 4 waves, 6 platform tasks',
        '  1 device ID listed twice: each device is targeted once',
        '  wave 1 (canary): 20 devices in 1 task, reaching 20 (2 %), then 30 min of soak',
        '  wave 2: 80 devices in 1 task, reaching 100 (10 %), then 30 min of soak',
        '  wave 3: 400 devices in 2 tasks, reaching 500 (50 %), then 30 min of soak',
        '  wave 4: 500 devices in 2 tasks, reaching 1000 (100 %)',
        '  platform calls: 6 to create the tasks, at most 32 to verify outcomes no push brought (1 min at the call budget)',
      ]);
      const json = await runBin(['rollout', 'plan', '--file-id', 'fw-2.1', '--devices', list, '--waves', '20,10%,50%,100%', '--json']);
      const plan = JSON.parse(json.stdout) as RolloutPlan;
      assert.deepEqual(plan, JSON.parse(JSON.stringify(planRollout({ fileId: 'fw-2.1', devices: [...fleet(1000), 'meter-00005'], waves: [20, '10%', '50%', '100%'] }))));
    });

    it('exits 2 on a usage error, with the reason', async () => {
      for (const [args, reason] of [
        [['rollout'], /rollout needs a command: plan/],
        [['rollout', 'plan', '--devices', list], /--file-id and --devices are needed/],
        [['rollout', 'plan', '--file-id', 'f', '--devices', list, '--waves', '50%,10%'], /waves must reach more devices each time/],
        [['rollout', 'plan', '--file-id', 'f', '--devices', list, '--waves', 'half'], /--waves takes counts and shares/],
        [['rollout', 'plan', '--file-id', 'f', '--devices', join(folder.dir, 'none.txt')], /--devices .* cannot be read/],
        [['rollout', 'plan', '--file-id', 'f', '--devices', list, '--seed', '3', '--given-order'], /--given-order takes the list as it is/],
        [['rollout', 'plan', '--file-id', 'f', '--devices', list, '--task-size', '300'], /taskSize must be a whole number from 1 to 256/],
      ] as const) {
        const result = await runBin([...args]);
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, reason);
      }
    });
  });
});
