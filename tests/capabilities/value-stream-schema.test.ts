// Value streams in the network file are checked when the file loads: errors name the file, the path
// inside it and the reason.
import { describe, expect, it } from 'vitest';
import { loadNetworkFile, parseNetwork } from '../../capabilities/network-file.js';
import { FlowmeshError } from '../../work/errors.js';

// Read directly (not through tests/support/runtime.ts) so these tests need no server.
const loadExampleNetwork = () => loadNetworkFile('examples/network.yaml');

const header = `
capabilities:
  - id: doc.draft
  - id: doc.review
  - id: doc.legal
  - id: doc.publish
`;

function load(streams: string) {
  return parseNetwork(`${header}valueStreams:\n${streams}`, 'net.yaml');
}

function errorsOf(streams: string): { path: string; message: string }[] {
  try {
    load(streams);
  } catch (error) {
    if (error instanceof FlowmeshError) {
      expect(error.message).toContain('net.yaml');
      return error.errors;
    }
    throw error;
  }
  throw new Error('the network loaded, but it should have been refused');
}

describe('value streams in the network file', () => {
  it('loads the example refund stream: triage, assess, approve over 500, execute', async () => {
    const network = await loadExampleNetwork();
    const refund = network.valueStreams.find((v) => v.kind === 'refund');
    expect(refund?.steps.map((s) => s.capability)).toEqual([
      'intake.triage',
      'refund.assess',
      'refund.approve',
      'refund.execute',
    ]);
  });

  it('accepts conditions, a bounded rework loop and parallel branches that join', () => {
    const network = load(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        next:
          - to: [review, legal]
      - id: review
        capability: doc.review
      - id: legal
        capability: doc.legal
      - id: publish
        capability: doc.publish
        join: [review, legal]
        next:
          - when: result.ok == false
            to: draft
            max: 2
          - end: completed
`);
    expect(network.valueStreams[0]?.steps).toHaveLength(4);
  });

  it('refuses a step with an unknown capability, naming its path', () => {
    expect(
      errorsOf(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.translate
`),
    ).toEqual([
      {
        path: 'valueStreams[0].steps[0].capability',
        message: 'unknown capability doc.translate (declare it under capabilities)',
      },
    ]);
  });

  it('refuses an edge to an unknown step', () => {
    expect(
      errorsOf(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        next: revieww
`),
    ).toEqual([{ path: 'valueStreams[0].steps[0].next', message: 'unknown step revieww' }]);
  });

  it('refuses a condition that is not valid CEL, or names a variable other than result and item', () => {
    const errors = errorsOf(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        next:
          - when: result.ok ==
            to: review
          - when: order.total > 5
            to: review
          - end: completed
      - id: review
        capability: doc.review
`);
    expect(errors.map((e) => e.path)).toEqual([
      'valueStreams[0].steps[0].next[0].when',
      'valueStreams[0].steps[0].next[1].when',
    ]);
    expect(errors[0]?.message).toMatch(/^invalid CEL/);
    expect(errors[1]?.message).toContain('order');
  });

  it('refuses a loop that has no maximum count', () => {
    const errors = errorsOf(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        next: review
      - id: review
        capability: doc.review
        next:
          - when: result.ok == false
            to: draft
          - end: completed
`);
    expect(errors).toEqual([
      {
        path: 'valueStreams[0].steps',
        message: 'steps draft → review → draft form a loop with no "max" on any of its edges',
      },
    ]);
  });

  it('refuses edges whose last one is conditional, since the stream could then stop nowhere', () => {
    const errors = errorsOf(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        next:
          - when: result.ok
            end: completed
`);
    expect(errors.map((e) => e.path)).toEqual(['valueStreams[0].steps[0].next[0]']);
  });

  it('refuses a join on a step that also has its own next', () => {
    const errors = errorsOf(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        next:
          - to: [review, legal]
      - id: review
        capability: doc.review
        next: publish
      - id: legal
        capability: doc.legal
      - id: publish
        capability: doc.publish
        join: [review, legal]
`);
    expect(errors.map((e) => e.path)).toEqual(['valueStreams[0].steps[3].join[0]']);
  });

  it('accepts step attributes that give a map, and refuses ones that cannot', () => {
    const network = load(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        attributes: result.attributes
        next: review
      - id: review
        capability: doc.review
        attributes: '{"reviewed": true}'
`);
    expect(network.valueStreams[0]?.steps.map((s) => s.attributes)).toEqual([
      'result.attributes',
      '{"reviewed": true}',
    ]);
    const errors = errorsOf(`
  - kind: doc
    steps:
      - id: draft
        capability: doc.draft
        attributes: result.ok == true
        next: review
      - id: review
        capability: doc.review
        attributes: order.attributes
`);
    expect(errors.map((e) => e.path)).toEqual([
      'valueStreams[0].steps[0].attributes',
      'valueStreams[0].steps[1].attributes',
    ]);
    expect(errors[0]?.message).toBe('attributes must be a map, this is bool');
    expect(errors[1]?.message).toContain('order');
  });
});
