// The documentation's promises, checked: every code block in the README and the guides compiles
// under strict TypeScript with exactOptionalPropertyTypes against the built package, the runnable
// ones run and print what the docs say they print, the command lines use options the command has,
// links reach files that ship, and the tables that restate the code (fields, events, metrics,
// options) agree with it. CONTRIBUTING.md says how to mark a block.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Registry } from 'prom-client';
import ts from 'typescript';
import { createUpgradeDashboard, createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { redisDedupeStore } from 'huawei-iot-upgrade-router/redis';
import { createPlatformClient } from 'huawei-iot-upgrade-router/platform';
import { registerMetrics } from 'huawei-iot-upgrade-router/prometheus';
import { createReconciler } from 'huawei-iot-upgrade-router/reconcile';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { codeBlocks, headingAnchors, links, type CodeBlock } from './support/markdown';
import { freePort } from './support/free-port';
import { until } from './support/wait';

const root = join(__dirname, '..');
/** What users read: it ships in the package. */
const userDocs = ['README.md', 'CHANGELOG.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
const allDocs = [...userDocs, 'CONTRIBUTING.md'];
const read = (file: string): string => readFileSync(join(root, file), 'utf8');
const blocks = allDocs.flatMap((file) => codeBlocks(file, read(file)));
// Inside the repository, so that the package resolves to itself by name, as it does for users.
// Inside the checkout, so that the blocks import the package by its name (a self-reference); a folder
// of its own per run, so that runs side by side (another Node line, another checkout's CI) never share one.
mkdirSync(join(root, 'spec', '.tmp'), { recursive: true });
const work = mkdtempSync(join(root, 'spec', '.tmp', 'docs-'));
const cli = join(root, 'dist', 'cli', 'index.js');

const where = (block: CodeBlock): string => `${block.file}:${block.line}`;
const fileOf = (block: CodeBlock, extension: string): string => join(work, `${block.file.replace(/\W/g, '_')}_${block.line}.${extension}`);
const isCode = (block: CodeBlock): boolean => block.lang === 'js' || block.lang === 'ts';
/** The `text output` block right after a block, if there is one. */
function outputOf(block: CodeBlock): string[] | undefined {
  const next = blocks[blocks.indexOf(block) + 1];
  if (next?.file !== block.file || next.lang !== 'text' || !next.flags.includes('output')) return undefined;
  return next.code.trimEnd().split('\n');
}
const linesOf = (text: string): string[] => (text.trimEnd() === '' ? [] : text.trimEnd().split('\n'));
const lineMatcher = (expected: string): RegExp => new RegExp(`^${expected.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

function matchLines(actual: string[], expected: string[], what: string): void {
  assert.equal(actual.length, expected.length, `${what} printed ${actual.length} lines, the docs show ${expected.length}:\n${actual.join('\n')}`);
  for (const [i, line] of expected.entries()) assert.match(actual[i] ?? '', lineMatcher(line), `${what}, line ${i + 1}`);
}

describe('documentation', function () {
  this.timeout(60_000);

  after(() => rmSync(work, { recursive: true, force: true }));

  it('every js and ts block compiles under strict TypeScript with exactOptionalPropertyTypes, against the built package', () => {
    const files = new Map<string, CodeBlock>();
    for (const block of blocks.filter(isCode)) {
      const file = fileOf(block, 'mts');
      // `export {}` makes each block a module: its own names shadow the fragments' globals.
      writeFileSync(file, `${block.code}export {};\n`);
      files.set(file, block);
    }
    assert.ok(files.size >= 15, `only ${files.size} code blocks found`);
    // The events and rejection reasons the receiving guide's tables list are the types' own, both ways.
    const receiving = read('docs/receiving.md');
    const column = (section: string, until: string): string => {
      const rows = (receiving.split(section)[1] ?? '').trimStart().split(until)[0] ?? '';
      const names = [...rows.matchAll(/^\| `(\w+)` \|/gm)].map((match) => `'${match[1] ?? ''}'`);
      return names.length > 0 ? names.join(' | ') : 'never';
    };
    const claims = join(work, 'claims.mts');
    writeFileSync(
      claims,
      `import type { RejectionReason, UpgradeEventName } from 'huawei-iot-upgrade-router';
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const eventsTableListsEveryEvent: Same<${column('## Events', '\n\n')}, UpgradeEventName> = true;
export const reasonsTableListsEveryReason: Same<${column('| `reason` |', '\n\n')}, RejectionReason> = true;
`,
    );
    const program = ts.createProgram([...files.keys(), claims, join(__dirname, 'support', 'doc-globals.d.ts')], {
      strict: true,
      exactOptionalPropertyTypes: true,
      noEmit: true,
      skipLibCheck: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      if (diagnostic.file?.fileName === claims) return `docs/receiving.md's tables of events and reasons: ${message}`;
      const block = diagnostic.file === undefined ? undefined : files.get(diagnostic.file.fileName);
      if (block === undefined || diagnostic.file === undefined || diagnostic.start === undefined) return message;
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      return `${block.file}:${block.line + 1 + line}: ${message}`;
    });
    assert.deepEqual(problems, []);
  });

  describe('runnable blocks print what the docs show', () => {
    for (const block of blocks.filter((candidate) => isCode(candidate) && candidate.flags.includes('run'))) {
      it(`${where(block)} runs`, function () {
        this.timeout(60_000);
        const file = fileOf(block, block.lang === 'ts' ? 'mts' : 'mjs');
        writeFileSync(file, block.code);
        // Each in a folder of its own: what a block writes (./data/…) stays there.
        const cwd = join(work, `run_${block.file.replace(/\W/g, '_')}_${block.line}`);
        mkdirSync(cwd, { recursive: true });
        const args = block.lang === 'ts' ? ['--import', 'tsx', file] : [file];
        // As a user's script runs: without the spec runner's loaders or options.
        const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 50_000, env: { ...process.env, NODE_OPTIONS: '' } });
        assert.equal(result.status, 0, `${where(block)} exited ${result.status}:\n${result.stdout}${result.stderr}`);
        const expected = outputOf(block);
        if (expected !== undefined) matchLines(linesOf(result.stdout), expected, where(block));
      });
    }
  });

  describe('server blocks answer the reference push and print what the docs show', () => {
    for (const block of blocks.filter((candidate) => isCode(candidate) && candidate.flags.includes('server'))) {
      it(`${where(block)} serves`, async function () {
        const expected = outputOf(block);
        assert.ok(expected, `${where(block)} has no text output block after it`);
        const path = /app\.use\('(\/[^']*)'/.exec(block.code)?.[1];
        assert.ok(path, `${where(block)} mounts nothing`);
        const file = fileOf(block, 'mjs');
        writeFileSync(file, block.code);
        const port = await freePort();
        const child = spawn(process.execPath, [file], { cwd: work, env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (data: Buffer) => (output += data.toString()));
        child.stderr.on('data', (data: Buffer) => (output += data.toString()));
        try {
          const url = `http://127.0.0.1:${port}${path}`;
          let sent: ReturnType<typeof spawnSync> | undefined;
          await until(() => {
            sent = spawnSync(process.execPath, [cli, 'simulate', '--reference', '--url', url], { encoding: 'utf8' });
            return sent.status === 0;
          }, () => `simulate against ${where(block)} to succeed: ${String(sent?.stdout)}${String(sent?.stderr)}`);
          await until(() => linesOf(output).length >= expected.length, () => `${where(block)} to print its ${expected.length} lines; printed:\n${output}`);
          matchLines(linesOf(output), expected, where(block));
        } finally {
          child.kill();
        }
      });
    }
  });

  it("command lines use only options their command's --help lists", () => {
    const help = execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
    const sections = new Map<string, string>();
    for (const part of help.split(/^(?=Usage: )/m)) {
      const command = /^Usage: huawei-iot-upgrade-router (\w+)/.exec(part)?.[1];
      if (command !== undefined) sections.set(command, part);
    }
    assert.deepEqual([...sections.keys()].sort(), ['emulator', 'journal', 'reconcile', 'rollout', 'simulate']);
    const problems: string[] = [];
    let commandLines = 0;
    for (const block of blocks.filter((candidate) => candidate.lang === 'sh')) {
      for (const line of block.code.split('\n')) {
        const call = /(?:^\s*|npx\s+)huawei-iot-upgrade-router\s+(\w+)(.*)/.exec(line.replace(/\s+#.*$/, ''));
        if (call === null) continue;
        commandLines += 1;
        const [, command = '', rest = ''] = call;
        const section = sections.get(command);
        if (section === undefined) {
          problems.push(`${where(block)}: no command ${command}`);
          continue;
        }
        for (const option of rest.match(/--[a-z][\w-]*/g) ?? []) {
          if (!new RegExp(`(^|[\\s\\[|(])${option}\\b`, 'm').test(section)) problems.push(`${where(block)}: ${command} has no ${option}`);
        }
      }
    }
    assert.ok(commandLines >= 10, `only ${commandLines} command lines found`);
    assert.deepEqual(problems, []);
  });

  it('docs/errors.md lists every error code the package gives, and only those', () => {
    const sources = (dir: string): string[] =>
      readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [read(join(dir, entry.name))] : [],
      );
    // Node's own codes the package only tests for are not the package's.
    const nodes = new Set(['ERR_PARSE_ARGS_UNKNOWN_OPTION']);
    const given = new Set(sources('lib').flatMap((text) => [...text.matchAll(/'(ERR_[A-Z_]+)'/g)].map((match) => match[1] as string)).filter((code) => !nodes.has(code)));
    const listed = new Set([...read('docs/errors.md').matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((match) => match[1] as string));
    assert.deepEqual([...given].filter((code) => !listed.has(code)).sort(), [], 'codes the package gives that docs/errors.md does not list');
    assert.deepEqual([...listed].filter((code) => !given.has(code)).sort(), [], 'codes docs/errors.md lists that the package does not give');
  });

  it('json blocks parse', () => {
    for (const block of blocks.filter((candidate) => candidate.lang === 'json')) assert.doesNotThrow(() => JSON.parse(block.code), where(block));
  });

  it('every relative link reaches a file of the repository, and an anchor reaches a heading', () => {
    const problems: string[] = [];
    for (const file of allDocs) {
      for (const link of links(file, read(file))) {
        if (/^(https?:|mailto:)/.test(link.target)) continue;
        const [path = '', anchor] = link.target.split('#');
        const target = path === '' ? file : relative(root, join(root, file, '..', path));
        let text: string;
        try {
          text = read(target);
        } catch {
          problems.push(`${file}:${link.line}: ${link.target} does not exist`);
          continue;
        }
        if (anchor !== undefined && !headingAnchors(text).has(anchor)) problems.push(`${file}:${link.line}: no heading #${anchor} in ${target}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('what users read links only to files that ship in the package (the rest is named, not linked)', () => {
    const { files = [] } = JSON.parse(read('package.json')) as { files?: string[] };
    const ships = (path: string): boolean => ['README.md', 'LICENSE', 'package.json'].includes(path) || files.some((entry) => path === entry || path.startsWith(`${entry}/`));
    const problems: string[] = [];
    for (const file of userDocs) {
      for (const link of links(file, read(file))) {
        if (/^(https?:|mailto:|#)/.test(link.target)) continue;
        const target = relative(root, join(root, file, '..', link.target.split('#')[0] ?? ''));
        if (!ships(target)) problems.push(`${file}:${link.line}: ${link.target} does not ship in the package`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('user documentation tells no work history: no issue numbers, no sessions', () => {
    const problems: string[] = [];
    for (const file of userDocs.filter((name) => name !== 'CHANGELOG.md')) {
      for (const [index, line] of read(file).split('\n').entries()) {
        if (/\bissues? \d+|\bthis session\b|\blast session\b/i.test(line)) problems.push(`${file}:${index + 1}: ${line.trim()}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it("the platform facts list, for each notification, exactly the fields its schema requires", () => {
    const facts = read('docs/platform-facts.md');
    for (const schemaFile of readdirSync(join(root, 'schema'))) {
      const schema = JSON.parse(read(`schema/${schemaFile}`)) as { required: string[]; properties: { notifyType?: { const: string } } };
      // IoTDA's envelopes are described in docs/iotda.md, whose example runs.
      if (schema.properties.notifyType === undefined) continue;
      const type = schema.properties.notifyType.const;
      const section = facts.split(/^### /m).find((part) => part.startsWith(`${type} `));
      assert.ok(section, `docs/platform-facts.md has no section for ${type}`);
      const fields = [...section.matchAll(/^\| ([^|]+) \|/gm)].flatMap((row) => [...(row[1] ?? '').matchAll(/`(\w+)`/g)].map((name) => name[1] ?? ''));
      assert.deepEqual(fields.sort(), [...schema.required].sort(), type);
    }
  });

  it('the metrics table names exactly the series registerMetrics exports, with a journal and a reconciler', async () => {
    const upgrades = createUpgradeRouter({ journal: sqliteJournal({ path: join(work, 'metrics.db') }) });
    const client = createPlatformClient({ url: 'https://127.0.0.1:9', appId: 'app', secret: 'secret' });
    const reconciler = createReconciler({ router: upgrades, client, schedule: false });
    try {
      const registry = new Registry();
      registerMetrics(upgrades, { registry });
      const exported = (await registry.getMetricsAsJSON()).map((metric) => metric.name).sort();
      const table = read('docs/observability.md').split('\n').filter((line) => line.startsWith('| `huawei_iot_upgrade_'));
      const documented = table.flatMap((row) => {
        const names = [...(row.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map((match) => (match[1] ?? '').replace(/\{.*\}$/, ''));
        const [first = ''] = names;
        // `…_suffix` replaces as many of the first name's last words as it has.
        return names.map((name) => (name.startsWith('…') ? first.split('_').slice(0, -(name.split('_').length - 1)).join('_') + name.slice(1) : name));
      });
      assert.deepEqual(documented.sort(), exported);
      // And every series the docs name anywhere (the alert rules included) is one of them.
      const named = allDocs.flatMap((file) => [...read(file).matchAll(/huawei_iot_upgrade_\w+(?!\w*\*)/g)].map((match) => `${file}: ${match[0]}`));
      const unknown = named.filter((entry) => !exported.includes((entry.split(': ')[1] ?? '').replace(/_(bucket|sum|count)$/, '')));
      assert.deepEqual(unknown, []);
    } finally {
      await reconciler.close();
      await upgrades.close();
      await client.close();
    }
  });

  it('every option the options table names is one createUpgradeRouter knows', () => {
    const guide = read('docs/options.md').split('## The other factories')[0] ?? '';
    const names = [...guide.matchAll(/^\| `([\w.]+)` \|/gm)].map((match) => match[1] ?? '');
    assert.ok(names.length >= 15, `only ${names.length} options found`);
    for (const name of names) {
      const probe = name.split('.').reduceRight<unknown>((value, key) => ({ [key]: value }), Symbol('probe')) as Parameters<typeof createUpgradeRouter>[0];
      assert.throws(() => createUpgradeRouter(probe), (error: Error) => !error.message.includes('unknown option') && error.message.includes(name.split('.')[0] ?? ''), name);
    }
  });

  describe("the other factories' option tables name options the factory knows", () => {
    /** The options a table names: the backticked words of its first column, up to the blank line. */
    const tableOptions = (file: string, header: string): string[] => {
      const rows = (read(file).split(header)[1] ?? '').split('\n\n')[0] ?? '';
      return [...rows.matchAll(/^\| ([^|]+) \|/gm)].flatMap((row) => [...(row[1] ?? '').matchAll(/`([\w.]+)(?:\([^)]*\))?`/g)].map((name) => name[1] ?? ''));
    };
    // Every value a probe gives is wrong for every option: the factory must refuse it by the option's name.
    const refusesByName = (name: string, make: (probe: Record<string, unknown>) => unknown): void => {
      const probe = name.split('.').reduceRight<unknown>((value, key) => ({ [key]: value }), Symbol('probe')) as Record<string, unknown>;
      assert.throws(() => make(probe), (error: Error) => !error.message.includes('unknown option') && error.message.includes(name.split('.').at(-1) ?? ''), name);
    };
    const router = createUpgradeRouter();
    const client = createPlatformClient({ url: 'https://127.0.0.1:9', appId: 'app', secret: 'secret' });
    after(() => client.close());
    const tables = [
      { file: 'docs/dashboard.md', header: '| option | default | what |', make: (probe: Record<string, unknown>) => createUpgradeDashboard({ router, ...probe }) },
      { file: 'docs/platform.md', header: '| `createReconciler` option | default | what |', make: (probe: Record<string, unknown>) => createReconciler({ router, client, ...probe }) },
      { file: 'docs/platform.md', header: '| option | default | meaning |', make: (probe: Record<string, unknown>) => createPlatformClient({ url: 'https://127.0.0.1:9', appId: 'app', secret: 'secret', ...probe }) },
      { file: 'docs/instances.md', header: '| option | default | meaning |', make: (probe: Record<string, unknown>) => redisDedupeStore(probe) },
    ];
    for (const { file, header, make } of tables) {
      it(`${file}: ${header}`, () => {
        const names = tableOptions(file, header);
        assert.ok(names.length >= 4, `only ${names.length} options found`);
        for (const name of names) refusesByName(name, make);
      });
    }
  });
});
