import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

const script = join(__dirname, 'journal-receiver.mjs');

/** A journal-receiver.mjs process, and the port it listens on. */
export class ReceiverProcess {
  readonly child: ChildProcess;
  readonly port: number;

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
  }

  static async start(env: Record<string, string>): Promise<ReceiverProcess> {
    const child = fork(script, { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [message] = (await Promise.race([once(child, 'message'), once(child, 'exit').then(() => [{ exited: true }])])) as [{ port?: number }];
    if (message.port === undefined) throw new Error('the receiver process ended before it listened');
    return new ReceiverProcess(child, message.port);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** Kills it with SIGKILL, as an OOM killer or a power cut would, and waits for it to be gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }

  /** Resolves when the process has ended by itself (a listener that kills it). */
  async exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await once(this.child, 'exit');
  }

  /** Lets the listeners of a receiver started with HOLD=1 finish. */
  release(): void {
    this.child.send('release');
  }

  /** POSTs one body; resolves with the status, or undefined when no answer came. */
  async post(body: unknown): Promise<number | undefined> {
    try {
      const response = await fetch(this.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      await response.arrayBuffer();
      return response.status;
    } catch {
      return undefined;
    }
  }
}
