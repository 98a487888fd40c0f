import type { DeviceRow } from './fold';

const COLUMNS = ['deviceId', 'subOperationId', 'state', 'result', 'errorCode', 'sourceVersion', 'curVersion', 'targetVersion', 'lastSeen', 'reconciled'] as const;

// RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled. A field that
// a spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe: the values come
// from devices, and a CSV opened in a spreadsheet must not execute them.
function field(value: string | Date | boolean | null): string {
  let text = value === null ? '' : value instanceof Date ? value.toISOString() : typeof value === 'boolean' ? String(value) : value;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The device rows as CSV: a header line, then one line per device, CRLF line ends. */
export function devicesCsv(devices: readonly DeviceRow[]): string {
  const lines = [COLUMNS.join(','), ...devices.map((device) => COLUMNS.map((column) => field(device[column])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
