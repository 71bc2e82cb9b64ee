import { baseEnvSchema, integerVariable, portVariable } from '@slipway/service-kit';
import { z } from 'zod';

export const savedCitiesEnvSchema = baseEnvSchema.extend({
  // The weather-app listens on 3000 by default; a different default lets `npm start` run both side by side.
  PORT: portVariable().default(3001),
  // Unset means the embedded, in-memory PGlite. The message never echoes the value: it carries a password.
  DATABASE_URL: z
    .string()
    .refine((value) => /^postgres(ql)?:\/\/[^\s]+$/.test(value) && URL.canParse(value), {
      message: 'must be a postgres:// or postgresql:// connection URL',
    })
    .optional(),
  DATABASE_POOL_MAX: integerVariable({ min: 1, max: 100, unit: 'connections' }).default(10),
  // Below the idle timeouts of servers and poolers (PgBouncer, cloud proxies), so the pool retires a connection
  // before the other side closes it.
  DATABASE_IDLE_TIMEOUT_MS: integerVariable({ min: 100, max: 600_000, unit: 'milliseconds' }).default(10_000),
  DATABASE_CONNECT_TIMEOUT_MS: integerVariable({ min: 100, max: 60_000, unit: 'milliseconds' }).default(3000),
  DATABASE_QUERY_TIMEOUT_MS: integerVariable({ min: 100, max: 600_000, unit: 'milliseconds' }).default(5000),
});

export type SavedCitiesConfig = z.infer<typeof savedCitiesEnvSchema>;
