// The value-stream map as a Mermaid flowchart and as a self-contained SVG drawing (wait and work per step).
import { formatDuration, START, type ValueStream } from './value-stream.js';

/** `4`, `1 rework`, or `3 (1 rework)` when an edge was traversed both ways. */
function edgeLabel(e: ValueStream['edges'][number]): string {
  if (e.type !== 'next') return `${e.count} ${e.type}`;
  const extra = [e.rework ? `${e.rework} rework` : '', e.handoffs ? `${e.handoffs} handoff` : ''].filter(
    Boolean,
  );
  return extra.length ? `${e.count} · ${extra.join(', ')}` : `${e.count}`;
}

function mermaidLabel(text: string): string {
  return text.replace(/"/g, '#quot;');
}

export function toMermaid(vs: ValueStream): string {
  const ids = new Map<string, string>([[START, 'start']]);
  vs.steps.forEach((s, i) => {
    ids.set(s.capability, `s${i}`);
  });
  const lines = ['flowchart LR', '  start(("start"))'];
  for (const s of vs.steps) {
    const nodes = s.nodes
      .slice(0, 3)
      .map((n) => `${n.nodeId} ${Math.round(n.share * 100)}%`)
      .join(' · ');
    const label = [
      s.capability,
      `wait p50 ${formatDuration(s.wait.p50)} · p85 ${formatDuration(s.wait.p85)}`,
      `work p50 ${formatDuration(s.work.p50)} · p85 ${formatDuration(s.work.p85)}`,
      nodes,
    ]
      .filter(Boolean)
      .join('<br/>');
    lines.push(`  ${ids.get(s.capability)}["${mermaidLabel(label)}"]`);
  }
  for (const e of vs.edges) {
    for (const end of [e.from, e.to]) {
      if (!ids.has(end)) {
        ids.set(end, end.replace(/[^a-z0-9_]/gi, '_'));
        lines.push(`  ${ids.get(end)}(("${mermaidLabel(end)}"))`);
      }
    }
  }
  for (const e of vs.edges) {
    const label = edgeLabel(e);
    const arrow = e.type === 'rework' ? '-.->' : e.type === 'handoff' ? '==>' : '-->';
    lines.push(`  ${ids.get(e.from)} ${arrow}|${label}| ${ids.get(e.to)}`);
  }
  if (vs.bottleneck) {
    lines.push('  classDef bottleneck fill:#fde2e1,stroke:#c0392b,stroke-width:2px');
    lines.push(`  class ${ids.get(vs.bottleneck.capability)} bottleneck`);
  }
  return `${lines.join('\n')}\n`;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const BOX_W = 190;
const BOX_H = 92;
const GAP = 70;
const TOP = 110;

export function toSvg(vs: ValueStream): string {
  const terminals = [
    ...new Set(vs.edges.map((e) => e.to).filter((t) => !vs.steps.some((s) => s.capability === t))),
  ];
  const columns = [START, ...vs.steps.map((s) => s.capability), ...terminals];
  const x = new Map(columns.map((c, i) => [c, 30 + i * (BOX_W + GAP)]));
  const width = 30 + columns.length * (BOX_W + GAP);
  const height = TOP + BOX_H + 150;
  const cy = TOP + BOX_H / 2;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>${esc(vs.kind)} — realized value stream</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    `<text x="30" y="28" font-size="16" font-weight="bold">${esc(vs.kind)} — realized value stream</text>`,
    `<text x="30" y="50">lead time p50 ${formatDuration(vs.leadTime.p50)} · p85 ${formatDuration(vs.leadTime.p85)} · flow efficiency ${vs.flowEfficiency === null ? 'n/a' : `${Math.round(vs.flowEfficiency * 100)} %`} · ${vs.items.done} done, ${vs.wip} in progress</text>`,
  ];
  if (vs.bottleneck) out.push(`<text x="30" y="70" fill="#c0392b">${esc(vs.bottleneck.explanation)}</text>`);
  const center = (c: string) => (x.get(c) ?? 0) + (c === START || terminals.includes(c) ? 30 : BOX_W / 2);
  const right = (c: string) => (x.get(c) ?? 0) + (c === START || terminals.includes(c) ? 60 : BOX_W);
  const left = (c: string) => x.get(c) ?? 0;
  vs.edges.forEach((e, i) => {
    const from = columns.indexOf(e.from);
    const to = columns.indexOf(e.to);
    const label = edgeLabel(e);
    const color = e.type === 'rework' ? '#c0392b' : e.type === 'handoff' ? '#2c6fbb' : '#555';
    const dash = e.type === 'rework' ? ' stroke-dasharray="5,4"' : '';
    if (to === from + 1) {
      out.push(
        `<line x1="${right(e.from)}" y1="${cy}" x2="${left(e.to)}" y2="${cy}" stroke="${color}"${dash} marker-end="url(#arrow)"/>`,
        `<text x="${(right(e.from) + left(e.to)) / 2}" y="${cy - 6}" text-anchor="middle" fill="${color}">${esc(label)}</text>`,
      );
    } else {
      // Skips and loops arc below the boxes, each a little deeper so they stay apart.
      const y = TOP + BOX_H + 30 + (i % 4) * 25;
      const x1 = center(e.from);
      const x2 = center(e.to);
      out.push(
        `<path d="M${x1},${TOP + BOX_H} C${x1},${y} ${x2},${y} ${x2},${TOP + BOX_H}" fill="none" stroke="${color}"${dash} marker-end="url(#arrow)"/>`,
        `<text x="${(x1 + x2) / 2}" y="${y - 4}" text-anchor="middle" fill="${color}">${esc(label)}</text>`,
      );
    }
  });
  for (const c of [START, ...terminals]) {
    out.push(
      `<circle cx="${center(c)}" cy="${cy}" r="30" fill="#f4f4f4" stroke="#555"/>`,
      `<text x="${center(c)}" y="${cy + 4}" text-anchor="middle">${esc(c)}</text>`,
    );
  }
  for (const s of vs.steps) {
    const bx = x.get(s.capability) ?? 0;
    const hot = vs.bottleneck?.capability === s.capability;
    const nodes = s.nodes
      .slice(0, 2)
      .map((n) => `${n.nodeId} ${Math.round(n.share * 100)}%`)
      .join(', ');
    out.push(
      `<g class="step" data-capability="${esc(s.capability)}">`,
      `<rect x="${bx}" y="${TOP}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${hot ? '#fde2e1' : '#eef4fb'}" stroke="${hot ? '#c0392b' : '#2c6fbb'}"/>`,
      `<text x="${bx + 8}" y="${TOP + 18}" font-weight="bold">${esc(s.capability)}</text>`,
      `<text x="${bx + 8}" y="${TOP + 38}">wait p50 ${formatDuration(s.wait.p50)} · p85 ${formatDuration(s.wait.p85)}</text>`,
      `<text x="${bx + 8}" y="${TOP + 56}">work p50 ${formatDuration(s.work.p50)} · p85 ${formatDuration(s.work.p85)}</text>`,
      `<text x="${bx + 8}" y="${TOP + 76}" fill="#555">${esc(nodes)}</text>`,
      '</g>',
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
