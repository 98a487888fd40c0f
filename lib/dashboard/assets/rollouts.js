// The dashboard page's rollouts: every rollout with its status, and the one picked with its waves,
// each gate's figures against its thresholds, the failure reasons, the halt, the timeline and the
// operator's actions. Polled every two seconds; hidden when the router has no rollouts.
'use strict';
/* global cell, rowOf */

(() => {
  const $ = (selector) => document.querySelector(selector);
  const percent = (share) => `${Math.round(share * 1000) / 10} %`;
  let picked = null;

  // app.js (loaded first) makes the table cells and rows, as text only.
  const td = cell;
  const row = rowOf;

  const figuresOf = (rollout, wave) => wave.figures || (rollout.live && rollout.live.wave === wave.number ? rollout.live.figures : null);

  function renderList(rollouts) {
    $('#rollouts').hidden = rollouts.length === 0;
    $('#rollout-list tbody').replaceChildren(
      ...rollouts.map((rollout) => {
        const passed = rollout.waves.filter((wave) => wave.status === 'passed').length;
        const tr = row([rollout.id, rollout.status, rollout.spec.fileId, String(rollout.spec.devices.length), `${passed} of ${rollout.waves.length}`, rollout.halt ? rollout.halt.why : ''], `status-${rollout.status}`);
        tr.tabIndex = 0;
        tr.addEventListener('click', () => {
          picked = rollout.id;
          renderDetail(rollout);
        });
        return tr;
      }),
    );
    const current = rollouts.find((rollout) => rollout.id === picked);
    if (current) renderDetail(current);
  }

  // The halt, and what became of the tasks it left running: stopped (IoTDA), being stopped, or running on (the legacy API cannot stop a task).
  function haltText(rollout) {
    const { halt } = rollout;
    const stopped = rollout.stopped || [];
    const toStop = rollout.toStop || [];
    const left = halt.running.filter((id) => !stopped.includes(id));
    const parts = [`Halted at wave ${halt.wave}: ${halt.why}`];
    if (stopped.length) parts.push(`Stopped on the platform: ${stopped.join(', ')}`);
    const being = left.filter((id) => rollout.platform === 'iotda' && toStop.includes(id));
    const running = left.filter((id) => !being.includes(id));
    if (being.length) parts.push(`Being stopped: ${being.join(', ')}`);
    if (running.length) parts.push(`Still running on the platform${rollout.platform === 'iotda' ? '' : ' (this API cannot stop them)'}: ${running.join(', ')}`);
    return parts.join('. ');
  }

  function renderDetail(rollout) {
    const gate = rollout.spec.gate;
    $('#rollout-detail').hidden = false;
    $('#rollout-title').textContent = `Rollout ${rollout.id}: ${rollout.status}`;
    $('#rollout-halt').hidden = !rollout.halt;
    $('#rollout-halt').textContent = rollout.halt ? haltText(rollout) : '';
    $('#rollout-gate').textContent = `Gate: at most ${percent(gate.maxFailureRate)} failed over at least ${gate.minFinished} finished devices, at least ${percent(gate.minSuccessRate)} succeeded${gate.maxFailures ? `, halt at ${gate.maxFailures} failures` : ''}; unverified successes ${gate.unverified === 'pass' ? 'pass' : 'count as failures'}.`;
    $('#rollout-waves tbody').replaceChildren(
      ...rollout.waves.map((wave) => {
        const figures = figuresOf(rollout, wave);
        const created = wave.tasks.filter((task) => task.operationId).length;
        const over = figures && figures.failureRate > gate.maxFailureRate;
        const under = figures && figures.pending === 0 && figures.successRate < gate.minSuccessRate;
        return row([
          wave.kind === 'retry' ? `${wave.number} (retry)` : wave.number === 1 ? '1 (canary)' : String(wave.number),
          wave.status,
          String(wave.devices.length),
          `${created} of ${wave.tasks.length}`,
          figures ? String(figures.succeeded) : '',
          figures ? String(figures.unverified) : '',
          figures ? String(figures.failed) : '',
          figures ? String(figures.timedOut) : '',
          figures ? String(figures.pending) : '',
          td(figures ? `${percent(figures.failureRate)} (max ${percent(gate.maxFailureRate)})` : '', over ? 'breach' : ''),
          td(figures ? `${percent(figures.successRate)} (min ${percent(gate.minSuccessRate)})` : '', under ? 'breach' : ''),
          figures && figures.reasons.length ? figures.reasons.map((reason) => `${reason.reason} × ${reason.devices}`).join('; ') : '',
        ]);
      }),
    );
    $('#rollout-timeline').replaceChildren(
      ...rollout.timeline.slice(-50).reverse().map((entry) => {
        const li = document.createElement('li');
        const step = entry.step;
        const about = step.wave ? ` wave ${step.wave}` : '';
        li.textContent = `${new Date(entry.at).toLocaleString()} ${step.kind}${about}${step.why ? `: ${step.why}` : ''}${step.operationId ? ` (${step.operationId})` : ''}`;
        return li;
      }),
    );
  }

  async function act(action) {
    if (!picked) return;
    const body = action === 'retry' && $('#rollout-reason').value.trim() ? { reasons: [$('#rollout-reason').value.trim()] } : {};
    const answer = await fetch(`api/rollouts/${encodeURIComponent(picked)}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const said = await answer.json().catch(() => ({}));
    $('#rollout-said').textContent = answer.ok ? `${action}: request ${said.request} recorded` : `${action} refused: ${said.error || answer.status}`;
    await refresh();
  }

  async function refresh() {
    const answer = await fetch('api/rollouts').catch(() => null);
    if (!answer || !answer.ok) return;
    renderList(await answer.json());
  }

  document.addEventListener('DOMContentLoaded', () => {
    for (const button of document.querySelectorAll('#rollout-actions button')) button.addEventListener('click', () => void act(button.dataset.action));
    void refresh();
    setInterval(() => void refresh(), 2000);
  });
})();
