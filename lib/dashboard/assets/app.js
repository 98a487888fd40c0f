// The dashboard page's script: served from the same origin (the Content-Security-Policy allows no
// inline script), it fetches the JSON API and follows /api/stream. Everything that came from a push is
// put in the page as text (textContent), never as markup.
'use strict';

const $ = (selector) => document.querySelector(selector);
let tasks = [];
let selected = null;
let detail = null;

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

const number = (n) => n.toLocaleString('en-US');
const time = (iso) => new Date(iso).toLocaleString();
const largest = (counts, n = 3) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, count]) => `${key} × ${number(count)}`)
    .join(', ');

function bar(task) {
  const box = document.createElement('div');
  box.className = 'bar';
  const parts = [
    ['succeeded', task.succeeded],
    ['failed', task.failed],
    ['progress', task.inProgress - task.stale],
    ['stale', task.stale],
  ];
  for (const [name, count] of parts) {
    if (count === 0) continue;
    const span = document.createElement('span');
    span.className = name;
    span.title = `${name === 'progress' ? 'in progress' : name}: ${number(count)}`;
    span.style.width = `${(100 * count) / task.devices}%`;
    box.append(span);
  }
  return box;
}

function renderTasks() {
  $('#empty').hidden = tasks.length > 0;
  $('#tasks').hidden = tasks.length === 0;
  const body = $('#tasks tbody');
  body.replaceChildren(
    ...tasks.map((task) => {
      const row = document.createElement('tr');
      row.dataset.operationId = task.operationId;
      if (task.operationId === selected) row.className = 'selected';
      const barCell = document.createElement('td');
      barCell.append(bar(task));
      row.append(
        cell(task.operationId),
        cell(task.kind),
        cell(number(task.devices), 'n'),
        cell(task.platform ? number(task.platform.expected) : '', 'n'),
        cell(number(task.succeeded), 'n'),
        cell(number(task.failed), 'n'),
        cell(number(task.inProgress), 'n'),
        cell(number(task.stale), 'n'),
        barCell,
        cell(largest(task.errorCodes), 'reasons'),
        cell(time(task.lastSeen)),
      );
      row.addEventListener('click', () => select(task.operationId));
      return row;
    }),
  );
}

function matches(device, filter) {
  if (filter === 'all') return true;
  if (filter === 'succeeded') return device.result === 'SUCCESS';
  if (filter === 'failed') return device.result === 'FAIL';
  if (filter === 'in progress') return device.result === null;
  if (filter === 'reconciled') return device.reconciled;
  if (filter === 'stale') return device.stale;
  return device.result === null && device.state === filter.slice('state: '.length);
}

function renderDetail() {
  $('#detail').hidden = detail === null;
  if (detail === null) return;
  const { task, devices } = detail;
  $('#detail-title').textContent = `Task ${task.operationId}`;
  $('#csv').href = `api/tasks/${encodeURIComponent(task.operationId)}.csv`;
  $('#detail-summary').textContent =
    `${number(task.devices)} devices: ${number(task.succeeded)} succeeded, ${number(task.failed)} failed (${number(task.reconciled)} of these filled in from the platform), ${number(task.inProgress)} in progress (${number(task.stale)} stale). ` +
    `Target versions: ${largest(task.targetVersions) || 'none yet'}. Failure reasons: ${largest(task.errorCodes, 10) || 'none'}.`;
  renderPlatform(task.platform, detail.neverReported);
  const select = $('#filter');
  const current = select.value || 'all';
  const options = ['all', 'succeeded', 'failed', 'reconciled', 'in progress', 'stale', ...Object.keys(task.states).map((state) => `state: ${state}`)];
  select.replaceChildren(...options.map((option) => Object.assign(document.createElement('option'), { value: option, textContent: option })));
  select.value = options.includes(current) ? current : 'all';
  $('#devices tbody').replaceChildren(
    ...devices
      .filter((device) => matches(device, select.value))
      .map((device) => {
        const row = document.createElement('tr');
        row.append(
          cell(device.deviceId),
          cell(device.state ?? ''),
          cell(device.result === null ? (device.stale ? 'stale' : 'in progress') : device.reconciled ? `${device.result} (reconciled)` : device.result),
          cell(device.errorCode ?? ''),
          cell(device.sourceVersion ?? ''),
          cell(device.curVersion ?? ''),
          cell(device.targetVersion ?? ''),
          cell(time(device.lastSeen)),
        );
        return row;
      }),
  );
}

// With a reconciler: the platform's count beside what was received, and the devices that never reported.
const NEVER_SHOWN = 1000;
function renderPlatform(platform, never) {
  $('#platform').hidden = !platform;
  $('#never').hidden = !never || never.missing.length + never.stuck.length === 0;
  if (!platform) return;
  $('#platform').textContent =
    `The platform (checked ${time(platform.checkedAt)}, task ${platform.status}): ${number(platform.expected)} devices expected, ` +
    `${number(platform.received)} results pushed, ${number(platform.filledIn)} filled in from the platform, ` +
    `${number(platform.missing)} finished with no result here yet, ${number(platform.waiting)} still waiting (${number(platform.stuck)} stuck).`;
  if (!never) return;
  const rows = [
    ...never.missing.map((device) => [device.deviceId, device.subOperationId, `${device.result}, no result here`, device.stopTime ?? '']),
    ...never.stuck.map((device) => [device.deviceId, device.subOperationId, `${device.status} (stuck)`, device.since ?? '']),
  ];
  $('#never-title').textContent = `${number(rows.length)} devices never reported${rows.length > NEVER_SHOWN ? ` (the first ${number(NEVER_SHOWN)} shown)` : ''}`;
  $('#never-devices tbody').replaceChildren(
    ...rows.slice(0, NEVER_SHOWN).map((values) => {
      const row = document.createElement('tr');
      row.append(...values.map((value) => cell(value)));
      return row;
    }),
  );
}

async function loadDetail() {
  if (selected === null) return;
  const response = await fetch(`api/tasks/${encodeURIComponent(selected)}`);
  detail = response.ok ? await response.json() : null;
  renderDetail();
}

async function load() {
  tasks = await (await fetch('api/tasks')).json();
  renderTasks();
  await loadDetail();
}

function select(operationId) {
  selected = operationId;
  renderTasks();
  loadDetail().catch(() => {});
}

// At most one reload in flight, and one more queued: a burst of pushes is one or two reloads.
let loading = null;
let again = false;
function refresh() {
  if (loading) {
    again = true;
    return;
  }
  loading = load()
    .catch(() => {})
    .finally(() => {
      loading = null;
      if (again) {
        again = false;
        refresh();
      }
    });
}

$('#filter').addEventListener('change', renderDetail);
const live = $('#live');
const stream = new EventSource('api/stream');
stream.addEventListener('open', () => {
  live.textContent = 'live';
  live.className = 'live';
  refresh();
});
stream.addEventListener('change', refresh);
stream.addEventListener('error', () => {
  // EventSource reconnects by itself.
  live.textContent = 'reconnecting…';
  live.className = 'live off';
});
refresh();
