// The load generator of bench/telemetry, on a worker thread of its own so it does not share the
// service's event loop (as autocannon's worker does for bench/submit). Each request from the parent,
// { url, key, seconds, concurrency }, runs that many concurrent submit → claim → complete loops for
// `seconds` and answers { loops } (or { error }).
import { parentPort } from 'node:worker_threads';

async function run({ url, key, seconds, concurrency }) {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const post = async (path, body) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : {};
  };
  let loops = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await post('/v1/work-items', { kind: 'bench', title: 'loop', capability: 'bench.work' });
        // A claim may come back empty (204) though this loop's item is queued: another claimer's
        // newer snapshot took the step this one saw. An agent asks again, waiting for work.
        let claim = await post('/v1/nodes/bench-team/claims', {});
        while (!claim.workItem) claim = await post('/v1/nodes/bench-team/claims', { wait: 1 });
        await post(`/v1/work-items/${claim.workItem.id}/complete`, {
          stepId: claim.step.id,
          leaseToken: claim.lease.token,
          result: { ok: true },
        });
        loops++;
      }
    }),
  );
  return loops;
}

parentPort?.on('message', (request) => {
  run(request).then(
    (loops) => parentPort?.postMessage({ loops }),
    (error) => parentPort?.postMessage({ error: String(error) }),
  );
});
