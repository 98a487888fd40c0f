// The import graph of lib/: fails on an import cycle, or on a capability importing one it must not
// (the core knows no journal, dashboard, reconciler or platform). `--print` lists every edge.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = join(root, 'lib');

/**
 * Which folders each folder of lib/ may import (besides itself). The generated types and the core
 * are one layer (generated code uses the core's digest); the router composes the core, its
 * transports and the journal; capabilities attach to a router through its extension point.
 */
export const ALLOWED = {
  generated: ['core'],
  core: ['generated'],
  transport: ['core', 'generated'],
  journal: ['core', 'generated'],
  platform: ['core', 'generated'],
  dedupe: ['core'],
  iotda: ['core', 'platform', 'router'],
  router: ['core', 'generated', 'transport', 'journal'],
  metrics: ['core', 'router', 'rollout'],
  emulator: ['core', 'generated', 'platform', 'iotda'],
  reconcile: ['core', 'generated', 'platform', 'journal', 'router'],
  dashboard: ['core', 'generated', 'journal', 'reconcile', 'platform', 'transport', 'router', 'rollout'],
  rollout: ['core', 'generated', 'platform', 'journal', 'reconcile', 'router', 'iotda'],
  cli: ['core', 'generated', 'journal', 'reconcile', 'platform', 'emulator', 'transport', 'dashboard', 'router', 'rollout', '.'],
};

/** The TypeScript sources under `folder` (declaration files left out). */
export function files(folder) {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return files(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

function target(from, specifier) {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // try the next form
    }
  }
  return undefined;
}

export function importGraph() {
  const graph = new Map();
  for (const file of files(lib)) {
    const source = readFileSync(file, 'utf8');
    const edges = new Set();
    // Type-only imports count: a cycle of types is still two modules that change together.
    for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s+'(\.[^']+)'/g)) {
      const to = target(file, match[1]);
      if (to !== undefined) edges.add(relative(lib, to));
    }
    for (const match of source.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)) {
      const to = target(file, match[1]);
      if (to !== undefined) edges.add(relative(lib, to));
    }
    graph.set(relative(lib, file), [...edges].sort());
  }
  return graph;
}

/** Strongly connected components of more than one module (Tarjan). */
export function cycles(graph) {
  let index = 0;
  const stack = [];
  const state = new Map();
  const found = [];
  const visit = (node) => {
    state.set(node, { index, low: index, onStack: true });
    index += 1;
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const seen = state.get(next);
      if (seen === undefined) {
        visit(next);
        state.get(node).low = Math.min(state.get(node).low, state.get(next).low);
      } else if (seen.onStack) state.get(node).low = Math.min(state.get(node).low, seen.index);
    }
    if (state.get(node).low === state.get(node).index) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        state.get(member).onStack = false;
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

const folderOf = (module) => (module.includes('/') ? module.split('/')[0] : '.');

/** Imports from one folder into another that ALLOWED does not list (the root's entry points may import any). */
export function backEdges(graph) {
  const found = [];
  for (const [from, edges] of graph) {
    const folder = folderOf(from);
    if (folder === '.') continue;
    for (const to of edges) {
      const into = folderOf(to);
      if (into !== folder && !(ALLOWED[folder] ?? []).includes(into)) found.push(`${from} -> ${to}`);
    }
  }
  return found;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const graph = importGraph();
  if (process.argv.includes('--print')) for (const [from, edges] of graph) for (const to of edges) console.log(`${from} -> ${to}`);
  const loops = cycles(graph);
  const back = backEdges(graph);
  console.log(`${graph.size} modules, ${[...graph.values()].reduce((sum, edges) => sum + edges.length, 0)} imports, ${loops.length} cycles, ${back.length} back-edges`);
  for (const loop of loops) console.log(`cycle: ${loop.join(' <-> ')}`);
  for (const edge of back) console.log(`back-edge: ${edge}`);
  process.exit(loops.length + back.length === 0 ? 0 : 1);
}
