// Reads a network file (YAML or JSON) and validates it; errors name the file, the path inside it and why.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { FlowmeshError, formatPath } from '../work/errors.js';
import { type Network, NetworkSchema } from './network-schema.js';

export function parseNetwork(source: string, file: string): Network {
  // prettyErrors would add a code frame to each message; a LineCounter gives the position without it.
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    const errors = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return {
        path: `line ${pos.line}, column ${pos.col}`,
        message: e.message.split('\n')[0] ?? e.message,
      };
    });
    throw new FlowmeshError('invalid', `${file}: not valid YAML: ${errors[0]?.path}: ${errors[0]?.message}`, {
      errors,
    });
  }
  const parsed = NetworkSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => ({
      path: formatPath(i.path) || '(root)',
      message: i.message,
    }));
    const lines = errors.map((e) => `  ${file}: ${e.path}: ${e.message}`).join('\n');
    throw new FlowmeshError('invalid', `network file ${file} is invalid:\n${lines}`, { errors });
  }
  return parsed.data;
}

export async function loadNetworkFile(file: string): Promise<Network> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    throw new FlowmeshError(
      'invalid',
      `cannot read network file ${file}: ${(error as Error).message}; set FLOWMESH_NETWORK to a readable file`,
      { cause: error },
    );
  }
  return parseNetwork(source, file);
}
