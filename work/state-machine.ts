// The step and work-item state machines. Every change of state goes through `assertTransition`,
// so an illegal move is refused with the state it was in and the move it tried.
import { FlowmeshError } from './errors.js';
import type { StepState, WorkItemState } from './work-item.js';

const STEP_TRANSITIONS: Record<StepState, readonly StepState[]> = {
  // queued → failed: a step nobody may claim any more (attempts exhausted while queued, for example).
  queued: ['claimed', 'cancelled', 'failed'],
  // claimed → queued: the lease expired or a retryable failure returned the step to its queue.
  claimed: ['completed', 'failed', 'handed_off', 'cancelled', 'queued'],
  completed: [],
  failed: [],
  handed_off: [],
  cancelled: [],
};

const ITEM_TRANSITIONS: Record<WorkItemState, readonly WorkItemState[]> = {
  // open → rejected: a step a policy required (approval, review) answered {approved: false}.
  open: ['done', 'failed', 'cancelled', 'rejected'],
  done: [],
  failed: [],
  cancelled: [],
  rejected: [],
};

export function canTransitionStep(from: StepState, to: StepState): boolean {
  return STEP_TRANSITIONS[from].includes(to);
}

export function canTransitionItem(from: WorkItemState, to: WorkItemState): boolean {
  return ITEM_TRANSITIONS[from].includes(to);
}

export function isTerminalStep(state: StepState): boolean {
  return STEP_TRANSITIONS[state].length === 0;
}

export function isTerminalItem(state: WorkItemState): boolean {
  return ITEM_TRANSITIONS[state].length === 0;
}

export function assertStepTransition(from: StepState, to: StepState, stepId?: string): void {
  if (!canTransitionStep(from, to)) {
    const allowed = STEP_TRANSITIONS[from];
    throw new FlowmeshError(
      'illegal_transition',
      `step${stepId ? ` ${stepId}` : ''} is ${from} and cannot become ${to}` +
        (allowed.length ? ` (from ${from} it may become ${allowed.join(', ')})` : ` (${from} is final)`),
      { details: { state: from, attempted: to } },
    );
  }
}

export function assertItemTransition(from: WorkItemState, to: WorkItemState, itemId?: string): void {
  if (!canTransitionItem(from, to)) {
    throw new FlowmeshError(
      'illegal_transition',
      `work item${itemId ? ` ${itemId}` : ''} is ${from} and cannot become ${to}` +
        (isTerminalItem(from) ? ` (${from} is final)` : ''),
      { details: { state: from, attempted: to } },
    );
  }
}
