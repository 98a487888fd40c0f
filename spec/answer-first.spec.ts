// @express-seam: the 200 written through each Express major's response
// @runtime-seam: the 200 written before listeners run, through Node's response
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { CALLBACK_PATH, freshText } from './helpers';
import { until } from './support/wait';

// "Answered before any listener runs": a listener that blocks the event loop synchronously
// for a second must not hold the 200. The receiver runs in its own process, so that this process
// stays free to read the answer while the receiver is blocked; its listener writes to stdout when it
// ends, and the answer must arrive before that line.
describe('the 200 goes out before any listener runs', function () {
  for (const transport of ['express', 'node'] as const) {
    it(`${transport}: a listener blocking for a second runs after the sender has its 200`, async () => {
      const child = fork(join(__dirname, 'support', 'blocking-server.mjs'), {
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
        env: { ...process.env, TRANSPORT: transport, BLOCK_MS: '1000' },
      });
      try {
        const order: string[] = [];
        child.stdout?.on('data', () => order.push('listener done'));
        const [{ port }] = (await once(child, 'message')) as [{ port: number }];
        const response = await fetch(`http://127.0.0.1:${port}${CALLBACK_PATH}`, { method: 'POST', body: freshText('success') });
        order.push(`answered ${response.status}`);
        await until(() => order.length >= 2, 'the listener to finish');
        assert.deepEqual(order, ['answered 200', 'listener done']);
      } finally {
        child.kill();
      }
    });
  }
});
