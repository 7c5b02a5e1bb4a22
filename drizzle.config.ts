// drizzle-kit configuration: the schema in store/schema, SQL migrations committed under store/migrations.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './store/schema/index.ts',
  out: './store/migrations',
});
