// CSV exports, written a hundred lines at a time: a 200 000-device task is tens of megabytes, and
// building it in one piece would hold the event loop (and the platform's 200s) for seconds.
import type { ServerResponse } from 'node:http';

export type CsvValue = string | number | boolean | Date | null;

// Small enough that a chunk usually fits the socket's buffer (16 KB): write on, yielding between chunks.
const CHUNK = 100;

// RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled. A field that
// a spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe: the values come
// from devices, and a CSV opened in a spreadsheet must not execute them.
export function field(value: CsvValue): string {
  let text = value === null ? '' : value instanceof Date ? value.toISOString() : typeof value === 'string' ? value : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const drained = (res: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });

/**
 * Writes a header line and one line per row, CRLF line ends, yielding to other work between chunks
 * and waiting while the reader is slower than the writer. Stops when the reader goes away.
 */
export async function streamCsv(res: ServerResponse, filename: string, header: readonly string[], rows: Iterable<readonly CsvValue[]>): Promise<void> {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-store');
  let chunk = `${header.join(',')}\r\n`;
  let lines = 0;
  for (const row of rows) {
    chunk += `${row.map(field).join(',')}\r\n`;
    lines += 1;
    if (lines % CHUNK !== 0) continue;
    if (res.destroyed) return;
    const flowing = res.write(chunk);
    chunk = '';
    if (!flowing) await drained(res);
    else await new Promise((resolve) => setImmediate(resolve));
  }
  if (!res.destroyed) res.end(chunk);
}
