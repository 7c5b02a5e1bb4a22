// The hono environment every route sees: the caller and the request id.
import type { Principal } from '../work/principal.js';

export interface AppEnv {
  Variables: {
    principal: Principal;
    requestId: string;
  };
}
