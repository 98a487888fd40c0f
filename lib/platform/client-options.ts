// The client's options, checked like every other factory's: a misspelt key (`retry`) or a value of
// the wrong kind used to pass unseen, and a wrong `url` failed with Node's own words.
import { checkOptions, checks, requireOption, type OptionTable } from '../core/option-checks';

const EXAMPLE = "createPlatformClient({ url: 'https://iot-api.example.com:8743', appId, secret })";

const optionTable: OptionTable = {
  url: { check: checks.nonEmptyString, example: EXAMPLE },
  appId: { check: checks.nonEmptyString, example: EXAMPLE },
  secret: { check: checks.nonEmptyString, example: `${EXAMPLE} (the secret from the environment, never from code)` },
  ca: {
    check: checks.pemOrList,
    example: "createPlatformClient({ …, ca: readFileSync('platform-ca.pem') })",
  },
  cert: { check: checks.pem, example: "createPlatformClient({ …, cert: readFileSync('client.pem'), key: readFileSync('client-key.pem') })" },
  key: { check: checks.pem, example: "createPlatformClient({ …, cert: readFileSync('client.pem'), key: readFileSync('client-key.pem') })" },
  rejectUnauthorized: { check: checks.oneOf(true, false), example: 'createPlatformClient({ …, rejectUnauthorized: true })' },
  appKeyHeader: { check: checks.oneOf('app_key', 'x-app-key'), example: "createPlatformClient({ …, appKeyHeader: 'x-app-key' })" },
  rateLimit: {
    check: checks.falseOrObject,
    example: 'createPlatformClient({ …, rateLimit: { calls: 100, windowMs: 60_000 } }) or rateLimit: false',
    keys: {
      calls: { check: checks.wholeNumber, example: 'rateLimit: { calls: 100, windowMs: 60_000 }' },
      windowMs: { check: checks.wholeNumber, example: 'rateLimit: { calls: 100, windowMs: 60_000 }' },
    },
  },
  retries: { check: checks.countFrom(0), example: 'createPlatformClient({ …, retries: 3 })' },
  retryDelayMs: { check: checks.countFrom(0), example: 'createPlatformClient({ …, retryDelayMs: 500 })' },
  timeoutMs: { check: checks.wholeNumber, example: 'createPlatformClient({ …, timeoutMs: 30_000 })' },
};

export function checkClientOptions(options: unknown): void {
  checkOptions(options, optionTable);
  const given = options as Record<string, unknown> | undefined;
  for (const name of ['url', 'appId', 'secret']) requireOption(given?.[name], name, EXAMPLE);
}
