// The environment a test hands to a child process it starts (the service's own entry point): this
// process's, so the child finds node, tsx and the same PATH.
export function inheritedEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env };
}
