import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPolicyHolder, type ReloadOutcome } from '../../policies/holder.js';
import { loadPolicySet } from '../../policies/load.js';
import { watchPolicies } from '../../policies/watch.js';
import { manualClock } from '../../work/clock.js';
import { silentLogger } from '../../work/logger.js';
import { CAPABILITIES, item, NOW } from './helpers.js';

const DENY_ALL = '- id: closed\n  on: admit\n  deny: true\n';
const ALLOW_ALL = '- id: open\n  on: admit\n  deny: false\n';

async function holderOn(text: string) {
  const dir = await mkdtemp(join(tmpdir(), 'flowmesh-reload-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'rules.yaml'), text);
  const initial = await loadPolicySet(dir, { capabilities: CAPABILITIES });
  const holder = createPolicyHolder({
    initial,
    path: dir,
    capabilities: CAPABILITIES,
    clock: manualClock(),
    logger: silentLogger,
  });
  return { dir, holder };
}

describe('reloading policies', () => {
  it('replaces the running set with a valid one and gives it a new version', async () => {
    const { dir, holder } = await holderOn(DENY_ALL);
    const before = holder.current().version;
    expect(holder.current().admit({ item: item(), now: NOW }).effects).toHaveLength(1);
    await writeFile(join(dir, 'rules.yaml'), ALLOW_ALL);
    const outcome = await holder.reload('signal');
    expect(outcome).toMatchObject({ ok: true, previousVersion: before, changed: true });
    expect(holder.current().version).not.toBe(before);
    expect(holder.current().admit({ item: item(), now: NOW }).effects).toHaveLength(0);
    expect(holder.lastReload()).toMatchObject({ ok: true, trigger: 'signal' });
  });

  it('keeps the running set when the new files are invalid, and says why', async () => {
    const { dir, holder } = await holderOn(DENY_ALL);
    const running = holder.current();
    await writeFile(join(dir, 'rules.yaml'), '- id: broken\n  on: admit\n  deny: item.kind ==\n');
    const outcome = await holder.reload('watch');
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.runningVersion).toBe(running.version);
    expect(outcome.problems[0]).toMatchObject({ ruleId: 'broken', field: 'deny', line: 3 });
    expect(holder.current()).toBe(running);
    expect(holder.current().admit({ item: item(), now: NOW }).effects).toHaveLength(1);
    expect(holder.lastReload()).toMatchObject({ ok: false, trigger: 'watch', version: running.version });
  });

  it('keeps the running set when the policy folder disappears', async () => {
    const { holder } = await holderOn(DENY_ALL);
    const h2 = createPolicyHolder({
      initial: holder.current(),
      path: '/nonexistent/flowmesh/policies',
      capabilities: CAPABILITIES,
      clock: manualClock(),
      logger: silentLogger,
    });
    const outcome = await h2.reload('signal');
    expect(outcome.ok).toBe(false);
    expect(h2.current()).toBe(holder.current());
  });

  it('replaces the set from sources handed in, as PUT /v1/policies does', async () => {
    const { holder } = await holderOn(DENY_ALL);
    const outcome = await holder.replace([{ file: 'api.yaml', text: ALLOW_ALL }], 'api');
    expect(outcome.ok).toBe(true);
    expect(holder.current().rules.map((r) => r.id)).toEqual(['open']);
  });

  it('reloads when a rule file changes, and keeps the running set when the change does not load', async () => {
    const { dir, holder } = await holderOn(DENY_ALL);
    const first = holder.current().version;
    // Editors and file systems may report one write as several events: wait for the outcome asked for.
    let waiting: { want: (o: ReloadOutcome) => boolean; done: (o: ReloadOutcome) => void } | undefined;
    const watch = watchPolicies(holder, silentLogger, {
      debounceMs: 50,
      onReload: (o) => {
        if (waiting?.want(o)) waiting.done(o);
      },
    });
    const until = (want: (o: ReloadOutcome) => boolean) =>
      new Promise<ReloadOutcome>((done) => {
        waiting = { want, done };
      });
    try {
      let reloaded = until((o) => !o.ok);
      await writeFile(join(dir, 'rules.yaml'), '- id: broken\n  on: admit\n  deny: item.kind ==\n');
      expect(await reloaded).toMatchObject({ ok: false, runningVersion: first });
      expect(holder.current().version).toBe(first);
      reloaded = until((o) => o.ok);
      await writeFile(join(dir, 'rules.yaml'), ALLOW_ALL);
      expect(await reloaded).toMatchObject({ ok: true, previousVersion: first });
      expect(holder.current().rules.map((r) => r.id)).toEqual(['open']);
    } finally {
      watch.close();
    }
  });
});
