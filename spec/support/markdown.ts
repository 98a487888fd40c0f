// Reads what the docs spec checks out of Markdown: fenced code blocks with their info strings,
// links, and the anchors GitHub gives headings. Small on purpose: the docs use plain CommonMark
// fences and inline links only, and the spec fails on anything it cannot place.

export interface CodeBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word (`js`, `ts`, `sh`, `text`, …). */
  lang: string;
  /** The info string's other words (`run`, `server`, `output`). */
  flags: string[];
  code: string;
}

export interface Link {
  file: string;
  line: number;
  target: string;
}

const FENCE = /^( {0,3})(`{3,})(.*)$/;

export function codeBlocks(file: string, text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const open = FENCE.exec(lines[i] ?? '');
    if (open === null) continue;
    const [, indent = '', ticks = '', info = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !(lines[j] ?? '').trimStart().startsWith(ticks); j += 1) body.push((lines[j] ?? '').slice(indent.length));
    if (j === lines.length) throw new Error(`${file}:${i + 1}: a code block is never closed`);
    const [lang = '', ...flags] = info.trim().split(/\s+/);
    blocks.push({ file, line: i + 1, lang, flags, code: body.join('\n') + '\n' });
    i = j;
  }
  return blocks;
}

/** Each line outside fenced code blocks, line numbers kept (a fenced line becomes undefined). */
function outsideFences(text: string): (string | undefined)[] {
  let inFence: string | undefined;
  return text.split('\n').map((line) => {
    if (inFence !== undefined) {
      if (line.trimStart().startsWith(inFence)) inFence = undefined;
      return undefined;
    }
    inFence = FENCE.exec(line)?.[2];
    return inFence === undefined ? line : undefined;
  });
}

/** The text outside code blocks and inline code, line numbers kept (removed text becomes blank). */
const prose = (text: string): string[] => outsideFences(text).map((line) => (line ?? '').replace(/`[^`]*`/g, ''));

export function links(file: string, text: string): Link[] {
  const found: Link[] = [];
  for (const [index, line] of prose(text).entries()) {
    for (const match of line.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) found.push({ file, line: index + 1, target: match[1] ?? '' });
    for (const match of line.matchAll(/<(https?:\/\/[^>]+)>/g)) found.push({ file, line: index + 1, target: match[1] ?? '' });
  }
  return found;
}

/** GitHub's anchor for each heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of outsideFences(text)) {
    if (line === undefined) continue;
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading !== null) result.add(slug(heading[1] ?? '', seen));
  }
  return result;
}

function slug(heading: string, seen: Map<string, number>): string {
  const base = heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
  const count = seen.get(base) ?? 0;
  seen.set(base, count + 1);
  return count === 0 ? base : `${base}-${count}`;
}
