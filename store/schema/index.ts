// The whole schema, as drizzle-kit and the drivers see it.
export * from './access.js';
export * from './checkpoints.js';
export * from './escalations.js';
export * from './network.js';
export * from './policies.js';
export * from './telemetry.js';
export * from './webhooks.js';
export * from './work.js';
