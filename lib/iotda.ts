// The 'huawei-iot-upgrade-router/iotda' subpath: Huawei Cloud IoTDA (API v5), the platform new
// tenants get. Its request signing (AK/SK) so far; the v5 client builds on it.
export { signRequest, parseAuthorization, signingTime, EMPTY_BODY_SHA256 } from './iotda/sign';
export type { ParsedAuthorization, RequestToSign, SigningKeys } from './iotda/sign';
