// The package's AK/SK signer against Huawei's official Node SDK signer (@huaweicloud/huaweicloud-sdk-core,
// a dev dependency): the same requests signed by both give the same Authorization header, in both
// variants; and a signature is sensitive to each part of the request it covers.
import assert from 'node:assert/strict';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner';
import { DerivedAKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/DerivedAKSKSigner';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials';
import { signRequest, parseAuthorization, signingTime } from 'huawei-iot-upgrade-router/iotda';

const AK = 'HPUAQYV0MC4ZQ7N3G2LW';
const SK = 'd7kS9bD8lT2Qx5vF0pRz3mWc6YhJ1nGtUe4oKaLi';
const ENDPOINT = 'https://iotda.cn-north-4.myhuaweicloud.com';
const PROJECT = '0e3bd4c9a280f3a52f65c0143f0b9cd2';

interface Case {
  what: string;
  method: string;
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  data?: Record<string, unknown>;
}

const cases: Case[] = [
  { what: 'a GET of a batch task with its paging query', method: 'GET', path: `/v5/iot/${PROJECT}/batchtasks/64c3b1f0a1e2c3d4e5f60718`, query: { limit: '50', marker: 'ffffffffffffffffffffffff', task_detail_status: 'Fail' } },
  {
    what: 'a POST that creates a task, with a JSON body and an instance header',
    method: 'POST',
    path: `/v5/iot/${PROJECT}/batchtasks`,
    headers: { 'Content-Type': 'application/json', 'Instance-Id': '6f2a9e3c-5b1d-4e7a-8c0f-1d2e3f4a5b6c' },
    data: { app_id: 'app-1', task_name: 'meters 1.3', task_type: 'firmwareUpgrade', targets: ['meter-1', 'meter-2'], document: { package_id: 'pkg-1' } },
  },
  { what: 'a POST with an empty body (stop)', method: 'POST', path: `/v5/iot/${PROJECT}/batchtasks/t-1/stop`, headers: { 'Content-Type': 'application/json' }, data: {} },
  { what: 'a path ending in a slash, a key given twice', method: 'GET', path: `/v5/iot/${PROJECT}/batchtasks/`, query: { target: ['meter-2', 'meter-10'], limit: '10' } },
  { what: 'a query value that needs escaping', method: 'GET', path: `/v5/iot/${PROJECT}/batchtasks`, query: { task_type: 'firmwareUpgrade', marker: 'a b+c/d*é' } },
];

/** The official signer's headers for a request, and the time it signed at. */
function official(request: Case, derived: boolean): { headers: Record<string, string>; at: number } {
  const credentials = new BasicCredentials().withAk(AK).withSk(SK).withProjectId(PROJECT).withRegionId('cn-north-4');
  const input = { endpoint: `${ENDPOINT}${request.path}`, method: request.method, headers: { ...request.headers }, queryParams: request.query ?? {}, data: request.data };
  const signer = derived ? DerivedAKSKSigner : AKSKSigner;
  if (derived) Object.assign(credentials, { derivedAuthServiceName: 'iotdm' });
  const headers = signer.sign(input, credentials) as Record<string, string>;
  const date = headers['X-Sdk-Date'] ?? '';
  const at = Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8), +date.slice(9, 11), +date.slice(11, 13), +date.slice(13, 15));
  return { headers, at };
}

function ours(request: Case, derived: boolean, at: number): Record<string, string> {
  const url = new URL(`${ENDPOINT}${request.path}`);
  for (const [key, value] of Object.entries(request.query ?? {})) for (const one of [value].flat()) url.searchParams.append(key, one);
  return signRequest(
    { method: request.method, url, headers: { ...request.headers }, body: request.data === undefined ? '' : JSON.stringify(request.data) },
    { ak: AK, sk: SK, ...(derived && { derived: { regionId: 'cn-north-4', service: 'iotdm' } }) },
    at,
  );
}

describe('IoTDA request signing, against the official SDK signer', () => {
  for (const derived of [false, true]) {
    for (const request of cases) {
      it(`${derived ? 'V11-HMAC-SHA256 (derived key)' : 'SDK-HMAC-SHA256'}: ${request.what}`, () => {
        const expected = official(request, derived);
        const actual = ours(request, derived, expected.at);
        assert.equal(actual.Authorization, expected.headers.Authorization);
        assert.equal(actual['X-Sdk-Date'], expected.headers['X-Sdk-Date']);
        assert.equal(actual.host, 'iotda.cn-north-4.myhuaweicloud.com');
      });
    }
  }

  it('the signature changes with the method, path, query, a signed header, the body, the time and the key', () => {
    const [base] = cases.slice(1);
    assert.ok(base !== undefined);
    const at = Date.UTC(2026, 11, 7, 8, 0, 0);
    const signature = (request: Case, when = at, sk = SK): string | undefined =>
      parseAuthorization(
        signRequest(
          { method: request.method, url: new URL(`${ENDPOINT}${request.path}`), headers: { ...request.headers }, body: JSON.stringify(request.data) },
          { ak: AK, sk },
          when,
        ).Authorization,
      )?.signature;
    const original = signature(base);
    assert.match(original ?? '', /^[0-9a-f]{64}$/);
    const variants = [
      signature({ ...base, method: 'PUT' }),
      signature({ ...base, path: `${base.path}/x` }),
      signature({ ...base, path: `${base.path}?limit=10` }),
      signature({ ...base, headers: { ...base.headers, 'Instance-Id': 'other' } }),
      signature({ ...base, data: { ...base.data, task_name: 'other' } }),
      signature(base, at + 1000),
      signature(base, at, `${SK}x`),
    ];
    for (const [index, variant] of variants.entries()) assert.notEqual(variant, original, `variant ${index}`);
    assert.equal(new Set(variants).size, variants.length);
  });

  it('parses what it writes, and refuses what is not a signature', () => {
    const headers = ours(cases[0] as Case, true, Date.UTC(2026, 11, 7));
    assert.deepEqual(
      { ...parseAuthorization(headers.Authorization), signature: 'x' },
      { algorithm: 'V11-HMAC-SHA256', ak: AK, info: '20261207/cn-north-4/iotdm', signedHeaders: ['host', 'x-sdk-date'], signature: 'x' },
    );
    assert.equal(signingTime(Date.UTC(2026, 0, 2, 3, 4, 5)), '20260102T030405Z');
    for (const bad of [undefined, '', 'Bearer token', 'SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=nothex']) assert.equal(parseAuthorization(bad), undefined);
  });
});
