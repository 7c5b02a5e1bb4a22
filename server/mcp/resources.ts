// MCP resources: the capability catalog and single work items, read through the same core functions
// (and the same access rule) as the list_capabilities and get_work_item tools.
import {
  ErrorCode,
  McpError,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js';
import { listCapabilitiesFor } from '../../capabilities/catalog.js';
import type { Core } from '../../capabilities/core.js';
import { getWorkItem } from '../../capabilities/work-items.js';
import { isFlowmeshError } from '../../work/errors.js';
import { isUuid } from '../../work/ids.js';
import type { Principal } from '../../work/principal.js';

export const CAPABILITIES_URI = 'flowmesh://capabilities';
const WORK_ITEM_RE = /^flowmesh:\/\/work-items\/([^/?#]+)$/;

/** JSON-RPC code MCP uses for a resource that does not exist. */
const RESOURCE_NOT_FOUND = -32002;

export interface McpResources {
  listed: Resource[];
  templates: ResourceTemplate[];
}

export const flowmeshResources: McpResources = {
  listed: [
    {
      uri: CAPABILITIES_URI,
      name: 'capabilities',
      title: 'Capabilities',
      description: 'Every capability of the network; proficiency says which ones this node provides.',
      mimeType: 'application/json',
    },
  ],
  templates: [
    {
      uriTemplate: 'flowmesh://work-items/{id}',
      name: 'work-item',
      title: 'Work item',
      description:
        'A work item with its steps: only items this node holds or held, or that this key submitted.',
      mimeType: 'application/json',
    },
  ],
};

function json(uri: string, value: unknown): ReadResourceResult {
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value) }] };
}

export async function readResource(
  _resources: McpResources,
  ctx: { core: Core; principal: Principal },
  uri: string,
): Promise<ReadResourceResult> {
  if (uri === CAPABILITIES_URI) return json(uri, await listCapabilitiesFor(ctx.core, ctx.principal));
  const match = WORK_ITEM_RE.exec(uri);
  if (!match?.[1]) {
    throw new McpError(
      RESOURCE_NOT_FOUND,
      `no resource ${uri}; resources/list and resources/templates/list name them`,
      {
        uri,
      },
    );
  }
  const id = match[1];
  if (!isUuid(id))
    throw new McpError(ErrorCode.InvalidParams, `${uri}: the work item id must be a UUID`, { uri });
  try {
    return json(uri, await getWorkItem(ctx.core, ctx.principal, id));
  } catch (error) {
    if (isFlowmeshError(error) && (error.code === 'not_found' || error.code === 'forbidden')) {
      throw new McpError(RESOURCE_NOT_FOUND, error.message, { uri, code: error.code });
    }
    throw error;
  }
}
