// The step and work-item state machines: every legal move is allowed, every other move is refused with
// an error that names the state and the attempted transition.
import { describe, expect, it } from 'vitest';
import { FlowmeshError } from '../../work/errors.js';
import {
  assertItemTransition,
  assertStepTransition,
  canTransitionItem,
  canTransitionStep,
  isTerminalItem,
  isTerminalStep,
} from '../../work/state-machine.js';
import { STEP_STATES, type StepState, WORK_ITEM_STATES, type WorkItemState } from '../../work/work-item.js';

const LEGAL_STEP_MOVES: [StepState, StepState][] = [
  ['queued', 'claimed'],
  ['queued', 'cancelled'],
  ['queued', 'failed'],
  ['claimed', 'completed'],
  ['claimed', 'failed'],
  ['claimed', 'handed_off'],
  ['claimed', 'cancelled'],
  ['claimed', 'queued'],
];

const LEGAL_ITEM_MOVES: [WorkItemState, WorkItemState][] = [
  ['open', 'done'],
  ['open', 'failed'],
  ['open', 'cancelled'],
  ['open', 'rejected'],
];

const allPairs = <S extends string>(states: readonly S[]): [S, S][] =>
  states.flatMap((from) => states.map((to) => [from, to] as [S, S]));

function caught(fn: () => void): FlowmeshError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FlowmeshError) return error;
    throw error;
  }
  throw new Error('expected a FlowmeshError');
}

describe('step state machine', () => {
  it.each(LEGAL_STEP_MOVES)('lets a %s step become %s', (from, to) => {
    expect(canTransitionStep(from, to)).toBe(true);
    expect(() => assertStepTransition(from, to)).not.toThrow();
  });

  const illegal = allPairs(STEP_STATES).filter(
    ([from, to]) => !LEGAL_STEP_MOVES.some(([f, t]) => f === from && t === to),
  );
  it.each(illegal)('refuses to turn a %s step into %s, naming both', (from, to) => {
    expect(canTransitionStep(from, to)).toBe(false);
    const error = caught(() => assertStepTransition(from, to, 'step-1'));
    expect(error.code).toBe('illegal_transition');
    expect(error.message).toContain(`step step-1 is ${from} and cannot become ${to}`);
    expect(error.details).toEqual({ state: from, attempted: to });
  });

  it('treats completed, failed, handed_off and cancelled as final and says so', () => {
    expect(STEP_STATES.filter(isTerminalStep)).toEqual(['completed', 'failed', 'handed_off', 'cancelled']);
    expect(caught(() => assertStepTransition('completed', 'queued')).message).toContain('completed is final');
  });

  it('lists the moves a live step may make when it refuses one', () => {
    expect(caught(() => assertStepTransition('queued', 'completed')).message).toContain(
      'from queued it may become claimed, cancelled, failed',
    );
  });
});

describe('work-item state machine', () => {
  it.each(LEGAL_ITEM_MOVES)('lets an %s item become %s', (from, to) => {
    expect(canTransitionItem(from, to)).toBe(true);
    expect(() => assertItemTransition(from, to)).not.toThrow();
  });

  const illegal = allPairs(WORK_ITEM_STATES).filter(
    ([from, to]) => !LEGAL_ITEM_MOVES.some(([f, t]) => f === from && t === to),
  );
  it.each(illegal)('refuses to turn a %s item into %s, naming both', (from, to) => {
    expect(canTransitionItem(from, to)).toBe(false);
    const error = caught(() => assertItemTransition(from, to, 'item-1'));
    expect(error.code).toBe('illegal_transition');
    expect(error.message).toContain(`work item item-1 is ${from} and cannot become ${to}`);
    expect(error.details).toEqual({ state: from, attempted: to });
  });

  it('treats done, failed, cancelled and rejected as final', () => {
    expect(WORK_ITEM_STATES.filter(isTerminalItem)).toEqual(['done', 'failed', 'cancelled', 'rejected']);
  });
});
