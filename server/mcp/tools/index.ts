// Every tool flowmesh serves over MCP (HTTP and stdio alike), in the order tools/list shows them.
import type { ToolDefinition } from '../tool.js';
import { escalateTool } from './escalate.js';
import { claimWorkTool, completeWorkTool, failWorkTool, handoffWorkTool, heartbeatTool } from './steps.js';
import { getWorkItemTool, listCapabilitiesTool, submitWorkTool } from './work-items.js';

export const flowmeshTools: readonly ToolDefinition[] = [
  listCapabilitiesTool,
  claimWorkTool,
  heartbeatTool,
  completeWorkTool,
  failWorkTool,
  handoffWorkTool,
  escalateTool,
  submitWorkTool,
  getWorkItemTool,
];
