// The dashboard's CSV exports: which columns, and the lines, streamed a row at a time.
import type { ServerResponse } from 'node:http';
import { log, type Logger } from '../core/log';
import { asError, describeThrown } from '../core/thrown';
import type { DashboardTask } from './api';
import { streamCsv, type CsvValue } from './csv';
import type { Device, Task } from './fold';
import type { DashboardDevice } from './query';

export const DEVICE_COLUMNS = ['operationId', 'deviceId', 'subOperationId', 'state', 'result', 'errorCode', 'errorText', 'resultDesc', 'description', 'statusDesc', 'reconciled', 'sourceVersion', 'curVersion', 'targetVersion', 'upgradeTime', 'stale', 'firstSeen', 'lastSeen'] as const;
export const TASK_COLUMNS = ['operationId', 'kind', 'devices', 'expected', 'notReported', 'succeeded', 'failed', 'reconciled', 'inProgress', 'stale', 'staleAfterMs', 'missing', 'stuck', 'resultsPerMinute', 'firstSeen', 'lastSeen', 'lastPush', 'lastFilled', 'silent', 'estimatedEnd'] as const;

export function* deviceLines(tasks: Iterable<Task>, devicesOf: (task: Task, now: number) => Iterable<Device>, row: (task: Task, device: Device, now: number) => DashboardDevice): Generator<CsvValue[]> {
  const now = Date.now();
  for (const task of tasks) {
    for (const device of devicesOf(task, now)) {
      const values = row(task, device, now);
      yield DEVICE_COLUMNS.map((column) => (column === 'operationId' ? task.operationId : values[column]));
    }
  }
}

export function* taskLines(summaries: Iterable<DashboardTask>): Generator<CsvValue[]> {
  for (const summary of summaries) {
    const { platform } = summary;
    const values: Record<(typeof TASK_COLUMNS)[number], CsvValue> = { ...summary, missing: platform?.missing ?? null, stuck: platform?.stuck ?? null };
    yield TASK_COLUMNS.map((column) => values[column]);
  }
}

/** Streams an export; one that fails midway is logged and its connection cut (a short file must not look whole). */
export function exportCsv(logger: Logger, res: ServerResponse, filename: string, header: readonly string[], lines: Iterable<CsvValue[]>): void {
  streamCsv(res, filename, header, lines).catch((error: unknown) => {
    log(logger, 'error', `the upgrade dashboard could not finish an export: ${describeThrown(error)}`, { error: asError(error, 'the export threw') });
    res.destroy();
  });
}

