// Certificates for a local HTTPS loop: a CA, and server certificates it signs for the given host
// names and IP addresses (the platform verifies a receiver's certificate against the CA uploaded for
// its callback address, so the address must be in the certificate: an IP SAN or a domain name).
// Made with @peculiar/x509 (an optional peer) on Node's WebCrypto: no openssl binary needed.
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { codedError } from '../core/errors';

export interface TestCertificates {
  /** The CA's certificate (PEM): what a client trusts, what is uploaded to the platform. */
  ca: string;
  /** Issues a server (and client) certificate for these names, signed by the CA. */
  issue(hosts: string[]): Promise<{ cert: string; key: string }>;
}

type X509 = typeof import('@peculiar/x509');

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

async function loadX509(): Promise<X509> {
  try {
    return await import('@peculiar/x509');
  } catch (cause) {
    throw codedError('ERR_PEER_MISSING', 'createTestCertificates needs @peculiar/x509 (npm install -D @peculiar/x509@1)', { cause });
  }
}

function keyPem(der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

/** A new CA, valid for `days` (default 30), and a way to issue certificates from it. */
export async function createTestCertificates(options: { name?: string; days?: number } = {}): Promise<TestCertificates> {
  const x509 = await loadX509();
  // @peculiar/x509 signs with the global WebCrypto (Node's own since Node 19).
  const { subtle } = webcrypto;
  const days = options.days ?? 30;
  const caName = `CN=${options.name ?? 'huawei-iot-upgrade-router test CA'}`;
  const caKeys = (await subtle.generateKey(algorithm, true, ['sign', 'verify'])) ;
  const notBefore = new Date(Date.now() - DAY);
  const notAfter = new Date(Date.now() + days * DAY);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: caName,
      keys: caKeys,
      notBefore,
      notAfter,
      signingAlgorithm: algorithm,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    },
  );
  return {
    ca: caCert.toString('pem'),
    async issue(hosts) {
      const keys = (await subtle.generateKey(algorithm, true, ['sign', 'verify'])) ;
      const cert = await x509.X509CertificateGenerator.create(
        {
          subject: `CN=${hosts[0] ?? 'localhost'}`,
          issuer: caCert.subject,
          publicKey: keys.publicKey,
          signingKey: caKeys.privateKey,
          notBefore,
          notAfter,
          signingAlgorithm: algorithm,
          extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
            new x509.SubjectAlternativeNameExtension(hosts.map((host) => ({ type: isIP(host) === 0 ? ('dns' as const) : ('ip' as const), value: host }))),
          ],
        },
      );
      return { cert: cert.toString('pem'), key: keyPem(await subtle.exportKey('pkcs8', keys.privateKey)) };
    },
  };
}
